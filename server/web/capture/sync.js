// One sync round with the server: push the outbox, upload photo bytes over tus, pull the scope,
// ask where the captures stand. The protocol is docs/sync-protocol.md; nothing here is specific
// to a browser except the tus-js-client global (window.tus), which tests may replace.
import { getMeta, setMeta, dropScope } from './db.js'
import {
  applyPushAnswer, applyStatus, batches, confirmPhoto, isoNow, pending, photosToUpload, rememberUpload,
  wipeForRevocation
} from './outbox.js'

export const UPLOAD_CHUNK = 1024 * 1024

export class ApiError extends Error {
  constructor (status, body) {
    super((body && body.message) || `HTTP ${status}`)
    this.status = status
    this.code = body && body.code
    this.details = (body && body.details) || {}
  }
}

export class Revoked extends Error {}

export async function api (base, token, path, { method = 'GET', body, fetchFn = fetch } = {}) {
  const headers = { Accept: 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  // credentials: 'omit': the bearer token is the only credential; an office session cookie of the
  // same browser must neither authenticate nor trigger the session's CSRF check
  const response = await fetchFn(base + path, { method, headers, credentials: 'omit', body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  let parsed = null
  try { parsed = text ? JSON.parse(text) : null } catch (_) { parsed = null }
  if (!response.ok) throw new ApiError(response.status, parsed)
  return parsed
}

/** Exchange an enrolment code for a device token and keep it. */
export async function enrol (db, base, code, deviceName = '', fetchFn = fetch) {
  const answer = await api(base, null, '/devices/enrol', { method: 'POST', body: { code, device_name: deviceName }, fetchFn })
  await setMeta(db, 'token', answer.token)
  await setMeta(db, 'device_id', answer.device_id)
  await setMeta(db, 'inspector', answer.inspector)
  await dropScope(db) // a new device starts its pull from the beginning
  return answer
}

function revokedOrThrow (err) {
  if (err instanceof ApiError && err.status === 401 && ['auth.token_revoked', 'auth.token_invalid'].includes(err.code)) {
    return new Revoked(err.code)
  }
  return err
}

async function pushAll (db, call) {
  let limits = {}
  for (let batch of batches(await pending(db), limits)) {
    while (batch.length) {
      try {
        const answer = await call('/sync/push', { method: 'POST', body: { protocol: 1, device_time: isoNow(), items: batch.map((r) => r.item) } })
        await applyPushAnswer(db, batch, answer)
        break
      } catch (err) {
        if (err instanceof ApiError && err.code === 'sync.batch_too_large' && batch.length > 1) {
          limits = { maxItems: Math.max(1, Math.floor(batch.length / 2)) }
          batch = batch.slice(0, limits.maxItems) // the rest goes in the next round
          continue
        }
        throw err
      }
    }
  }
}

/** Upload one photo with tus-js-client, resuming from its stored URL; resolves when confirmed. */
export function uploadPhoto (db, photo, { base, token, onProgress = () => {}, tusLib = globalThis.tus, chunkSize = UPLOAD_CHUNK }) {
  return new Promise((resolve, reject) => {
    const upload = new tusLib.Upload(photo.blob, {
      endpoint: base + '/uploads',
      uploadUrl: photo.upload_url || null,
      headers: { Authorization: `Bearer ${token}` },
      metadata: { photo_id: photo.id, sha256: photo.sha256, filename: photo.filename || `${photo.id}`, filetype: photo.mime_type },
      chunkSize,
      storeFingerprintForResuming: false, // the URL lives in our IndexedDB, next to the Blob
      retryDelays: [0, 1000, 3000, 5000],
      onUploadUrlAvailable () { rememberUpload(db, photo.id, upload.url) },
      onProgress (sent, total) { onProgress(photo.id, total ? Math.floor((100 * sent) / total) : 0) },
      onSuccess () { confirmPhoto(db, photo.id).then(() => resolve(upload.url), reject) },
      onError (err) {
        const status = err.originalResponse ? err.originalResponse.getStatus() : null
        if (status === 404 || status === 410) rememberUpload(db, photo.id, null) // start anew next time
        if (status === 401) reject(new Revoked('auth.token_revoked'))
        else reject(err)
      }
    })
    upload.start()
  })
}

/** Apply one pull page and its cursor in one transaction (a crash before it pulls the page again). */
export async function applyPull (db, answer) {
  const tx = db.transaction(['dossiers', 'schemas', 'reviews', 'captures', 'meta'], 'readwrite')
  for (const change of answer.changes) {
    const store = { dossier: 'dossiers', schema: 'schemas', review: 'reviews' }[change.entity]
    if (!store) continue // unknown entities are ignored
    if (change.op === 'delete') {
      await tx.objectStore(store).delete(change.id)
      continue
    }
    const row = { ...change.data, id: change.id }
    await tx.objectStore(store).put(row)
    if (store === 'reviews') {
      const capture = await tx.objectStore('captures').get(change.id)
      if (capture) {
        capture.server = { ...(capture.server || {}), review_state: row.state, reason_code: row.reason_code,
          reason_text: row.reason_text }
        await tx.objectStore('captures').put(capture)
      }
    }
  }
  await tx.objectStore('meta').put(answer.cursor, 'cursor')
  await tx.objectStore('meta').put(answer.server_time, 'last_pull')
  await tx.done
}

async function pullAll (db, call) {
  for (let page = 0; page < 1000; page++) {
    const cursor = await getMeta(db, 'cursor')
    const query = new URLSearchParams({ limit: '500', device_time: isoNow() })
    if (cursor) query.set('cursor', cursor)
    let answer
    try {
      answer = await call('/sync/pull?' + query.toString())
    } catch (err) {
      if (err instanceof ApiError && (err.code === 'sync.reset_required' || err.code === 'sync.cursor_invalid')) {
        await dropScope(db) // keeps the captures and the outbox
        continue
      }
      throw err
    }
    await applyPull(db, answer)
    if (!answer.has_more) return
  }
}

async function refreshStatus (db, call) {
  // settled: approved, filed (卷内目录 number known) and stamped; everything else is asked again
  const captures = (await db.getAll('captures')).filter((c) => c.server && c.server.revision &&
    !(c.server.review_state === 'approved' && c.server.stamped && c.server.dossier_item_seq))
  for (let i = 0; i < captures.length; i += 100) {
    const query = new URLSearchParams()
    for (const c of captures.slice(i, i + 100)) query.append('id', c.capture_id)
    const answer = await call('/sync/status?' + query.toString())
    await applyStatus(db, answer.captures)
  }
}

/**
 * One full round: push → upload → pull → status. Throws Revoked after wiping the customer data
 * when the server refuses the token; other errors propagate for the caller's backoff.
 */
export async function syncOnce (db, { base, onProgress, tusLib, fetchFn = fetch, chunkSize } = {}) {
  const token = await getMeta(db, 'token')
  if (!token) throw new Revoked('not enrolled')
  const call = (path, opts = {}) => api(base, token, path, { ...opts, fetchFn })
  try {
    await pushAll(db, call)
    for (const photo of await photosToUpload(db)) {
      await uploadPhoto(db, photo, { base, token, onProgress, tusLib, chunkSize })
    }
    await pullAll(db, call)
    await refreshStatus(db, call) // last: the current state wins over review outcomes still in the feed
    await setMeta(db, 'last_sync', new Date().toISOString())
  } catch (err) {
    const final = revokedOrThrow(err)
    if (final instanceof Revoked) await wipeForRevocation(db)
    throw final
  }
}

/** Retry delay after ``failures`` failed rounds: exponential with jitter, at most 5 minutes. */
export function backoff (failures, random = Math.random) {
  const base = Math.min(300, 2 ** Math.min(failures, 9)) * 1000
  return Math.round(base / 2 + random() * base / 2)
}
