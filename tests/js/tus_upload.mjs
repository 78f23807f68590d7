// Upload one file with the real tus-js-client and report what happens as JSON lines on stdout.
// Usage: node tus_upload.mjs '<json options>'
//   {endpoint, file, token, metadata, chunkSize?, uploadUrl?, retryDelays?, terminateAfter?}
import fs from 'node:fs'
import * as tus from 'tus-js-client'

const opts = JSON.parse(process.argv[2])
const say = (event) => process.stdout.write(JSON.stringify(event) + '\n')
const data = fs.readFileSync(opts.file)
let terminating = false

const upload = new tus.Upload(data, {
  endpoint: opts.endpoint,
  uploadUrl: opts.uploadUrl || null,
  headers: { Authorization: `Bearer ${opts.token}` },
  metadata: opts.metadata,
  chunkSize: opts.chunkSize || Infinity,
  retryDelays: opts.retryDelays || [0, 500, 1000, 2000],
  removeFingerprintOnSuccess: true,
  onUploadUrlAvailable () { say({ event: 'url', url: upload.url }) },
  onAfterResponse (req, res) {
    say({ event: 'response', method: req.getMethod(), status: res.getStatus(),
          offset: res.getHeader('Upload-Offset') ?? null })
  },
  onProgress (sent, total) {
    say({ event: 'progress', sent, total })
    if (opts.terminateAfter && sent >= opts.terminateAfter && !terminating) {
      terminating = true
      upload.abort(true).then(() => { say({ event: 'terminated', url: upload.url }); process.exit(0) },
        (err) => { say({ event: 'error', message: String(err) }); process.exit(1) })
    }
  },
  onSuccess () { say({ event: 'success', url: upload.url }); process.exit(0) },
  onError (err) {
    const res = err.originalResponse
    say({ event: 'error', status: res ? res.getStatus() : null, body: res ? res.getBody() : null,
          message: String(err) })
    process.exit(2)
  }
})
upload.start()
