// Copy the capture app's npm libraries into server/web/capture/vendor/ (committed, so that
// `make run` needs only Python). `node build.mjs --check` exits 1 when the committed files differ
// from what the pinned packages give (CI runs it after `npm ci`).
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const vendor = path.join(here, '..', 'server', 'web', 'capture', 'vendor')
const FILES = [
  ['idb/build/index.js', 'idb.js'],
  ['tus-js-client/dist/tus.min.js', 'tus.min.js'],
  ['jsqr/dist/jsQR.js', 'jsQR.js'],
]
const LICENSES = ['idb/LICENSE', 'tus-js-client/LICENSE', 'jsqr/LICENSE']

function wanted () {
  const out = new Map()
  for (const [from, to] of FILES) out.set(to, fs.readFileSync(path.join(here, 'node_modules', from)))
  const notices = LICENSES.map((name) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name.split('/')[0], 'package.json')))
    return `== ${pkg.name} ${pkg.version} ==\n` + fs.readFileSync(path.join(here, 'node_modules', name), 'utf8').trim()
  })
  out.set('LICENSES.txt', Buffer.from(notices.join('\n\n') + '\n'))
  return out
}

const files = wanted()
if (process.argv.includes('--check')) {
  const present = fs.existsSync(vendor) ? fs.readdirSync(vendor).sort() : []
  const differ = [...files.keys()].filter((name) => !present.includes(name) ||
    !fs.readFileSync(path.join(vendor, name)).equals(files.get(name)))
  const extra = present.filter((name) => !files.has(name))
  if (differ.length || extra.length) {
    console.error(`server/web/capture/vendor differs from capture_app/package-lock.json: ${[...differ, ...extra].join(', ')}` +
      '\nrun: (cd capture_app && npm ci && node build.mjs) and commit the result')
    process.exit(1)
  }
  console.log(`vendor files match (${files.size})`)
} else {
  fs.mkdirSync(vendor, { recursive: true })
  for (const name of fs.readdirSync(vendor)) if (!files.has(name)) fs.rmSync(path.join(vendor, name))
  for (const [name, bytes] of files) fs.writeFileSync(path.join(vendor, name), bytes)
  console.log(`wrote ${files.size} files to ${path.relative(process.cwd(), vendor)}`)
}
