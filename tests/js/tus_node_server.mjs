// The reference Node tus server (@tus/server + @tus/file-store) for the benchmark.
// Usage: node tus_node_server.mjs PORT DIRECTORY ; prints "listening" when ready.
import http from 'node:http'
import { Server } from '@tus/server'
import { FileStore } from '@tus/file-store'

const [port, directory] = process.argv.slice(2)
const tusServer = new Server({ path: '/files', datastore: new FileStore({ directory }) })
http.createServer((req, res) => tusServer.handle(req, res)).listen(Number(port), '127.0.0.1', () => {
  process.stdout.write('listening\n')
})
