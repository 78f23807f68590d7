// Captures, drafts and the outbox: everything the inspector saves lives in IndexedDB until the
// server has confirmed it (docs/sync-protocol.md, "Rules the tablet follows").
import { validateCapture, isValid } from './validation.js'
import { dropScope } from './db.js'

export const MAX_ITEMS = 200
export const MAX_BYTES = 1024 * 1024

const encoder = new TextEncoder()

export function uuid () {
  return crypto.randomUUID()
}

/** The tablet clock as ISO 8601 with its UTC offset (the server wants an aware time). */
export function isoNow (date = new Date()) {
  const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, '0')
  const offset = -date.getTimezoneOffset()
  const sign = offset >= 0 ? '+' : '-'
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:` +
    `${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
}

const MIME_BY_EXTENSION = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', heic: 'image/heic', heif: 'image/heif', webp: 'image/webp' }

/** The photo's type as the server lists it; some browsers give HEIC files no type at all. */
export function mimeOf (file) {
  if (file.type && Object.values(MIME_BY_EXTENSION).includes(file.type)) return file.type
  const ext = String(file.name || '').split('.').pop().toLowerCase()
  return MIME_BY_EXTENSION[ext] || file.type || 'image/jpeg'
}

export async function sha256Hex (blob) {
  const digest = await crypto.subtle.digest('SHA-256', await blob.arrayBuffer())
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** A new draft for a customer (known or not: an unknown 户号 arrives unlinked). */
export async function newDraft (db, { kind, schemaVersion, accountNo, customerName = null }) {
  const capture = {
    capture_id: uuid(), kind, schema_version: schemaVersion, account_no: accountNo, customer_name: customerName,
    data: {}, photos: [], state: 'draft', revisions: [], base_revision_id: null, attention: null,
    server: null, created_at: isoNow(), updated_at: Date.now()
  }
  await db.put('captures', capture)
  return capture
}

/** Save the form as typed (drafts are saved on every change). */
export async function saveDraft (db, captureId, data) {
  const tx = db.transaction('captures', 'readwrite')
  const capture = await tx.store.get(captureId)
  if (!capture) throw new Error(`no capture ${captureId}`)
  if (capture.state !== 'draft') throw new Error('only drafts can be edited; open an amendment')
  capture.data = data
  capture.updated_at = Date.now()
  await tx.store.put(capture)
  await tx.done
  return capture
}

/**
 * Open a sent capture again as a draft: after a rejection (a 重拍/补正 task) a new revision on the
 * last applied one; after the server refused a revision (需处理), the same base as that revision.
 */
export async function openAmendment (db, captureId) {
  const tx = db.transaction('captures', 'readwrite')
  const capture = await tx.store.get(captureId)
  const last = capture.revisions[capture.revisions.length - 1]
  if (capture.state === 'draft') return capture
  if (!last) throw new Error('nothing sent yet')
  const applied = capture.revisions.filter((r) => r.status === 'applied')
  capture.state = 'draft'
  capture.base_revision_id = applied.length ? applied[applied.length - 1].revision_id : null
  capture.data = structuredClone(last.data)
  capture.photos = structuredClone(last.photos)
  capture.attention = null
  capture.updated_at = Date.now()
  await tx.store.put(capture)
  await tx.done
  return capture
}

/**
 * Keep a photo (the camera's original bytes, as a Blob) in a slot of a draft, with the tablet time
 * and position when it was taken. A slot holds one photo: a retake replaces the draft's photo.
 */
export async function addPhoto (db, captureId, { slot, category, file, capturedAt = isoNow(), gps = null }) {
  const sha256 = await sha256Hex(file)
  const meta = {
    id: uuid(), slot, category, captured_at: capturedAt, gps, sha256, size: file.size,
    mime_type: mimeOf(file), filename: file.name || null
  }
  const tx = db.transaction(['captures', 'photos'], 'readwrite')
  const capture = await tx.objectStore('captures').get(captureId)
  if (!capture || capture.state !== 'draft') throw new Error('photos go into drafts only')
  const sent = new Set(capture.revisions.flatMap((r) => r.photos.map((p) => p.id)))
  for (const old of capture.photos.filter((p) => p.slot === slot)) {
    if (!sent.has(old.id)) await tx.objectStore('photos').delete(old.id) // never sent: nothing to keep
  }
  capture.photos = capture.photos.filter((p) => p.slot !== slot).concat([meta])
  capture.updated_at = Date.now()
  await tx.objectStore('photos').put({
    id: meta.id, capture_id: captureId, blob: file, sha256, size: file.size, mime_type: meta.mime_type,
    filename: meta.filename, needs_upload: null, confirmed: false, upload_url: null, offset: 0
  })
  await tx.objectStore('captures').put(capture)
  await tx.done
  return meta
}

/**
 * Validate a draft with its schema and freeze it into the outbox as one push item.
 * Returns {ok: true, item} or {ok: false, errors} (then nothing changed).
 */
export async function submit (db, captureId, descriptor, now = isoNow()) {
  const tx = db.transaction(['captures', 'outbox'], 'readwrite')
  const capture = await tx.objectStore('captures').get(captureId)
  const errors = validateCapture(descriptor, capture.data, capture.photos)
  if (!isValid(errors)) {
    await tx.done
    return { ok: false, errors }
  }
  const item = {
    capture_id: capture.capture_id, revision_id: uuid(), base_revision_id: capture.base_revision_id,
    kind: capture.kind, schema_version: capture.schema_version, account_no: capture.account_no,
    device_time: now, data: capture.data, photos: capture.photos
  }
  await tx.objectStore('outbox').add({ revision_id: item.revision_id, capture_id: captureId, item, status: 'pending' })
  capture.revisions.push({
    revision_id: item.revision_id, base_revision_id: item.base_revision_id, data: item.data,
    photos: item.photos, device_time: now, status: 'pending', revision: null, error: null
  })
  capture.state = 'queued'
  capture.updated_at = Date.now()
  await tx.objectStore('captures').put(capture)
  await tx.done
  return { ok: true, item }
}

/** Outbox items still to push, oldest first. */
export async function pending (db) {
  return (await db.getAll('outbox')).filter((row) => row.status === 'pending')
}

/** Split items into push batches within the server's limits (items and bytes of the body). */
export function batches (rows, { maxItems = MAX_ITEMS, maxBytes = MAX_BYTES } = {}) {
  const out = []
  let current = []
  let size = 0
  const envelope = 200 // {"protocol":1,"device_time":"…","items":[…]}
  for (const row of rows) {
    const bytes = encoder.encode(JSON.stringify(row.item)).length + 1
    if (current.length && (current.length >= maxItems || size + bytes + envelope > maxBytes)) {
      out.push(current)
      current = []
      size = 0
    }
    current.push(row)
    size += bytes
  }
  if (current.length) out.push(current)
  return out
}

/**
 * Record the server's answer to a push of ``rows`` (same order as results): applied items leave
 * the outbox, rejected ones move to the capture's attention list, retry ones stay.
 */
export async function applyPushAnswer (db, rows, answer) {
  const wanted = new Set((answer.uploads || []).map((u) => u.photo_id))
  const tx = db.transaction(['captures', 'outbox', 'photos'], 'readwrite')
  const counts = { applied: 0, rejected: 0, retry: 0 }
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    const result = answer.results[i]
    if (!result || result.revision_id !== row.revision_id) throw new Error('push answer out of order')
    counts[result.status] = (counts[result.status] || 0) + 1
    if (result.status === 'retry') continue
    const capture = await tx.objectStore('captures').get(row.capture_id)
    const revision = capture.revisions.find((r) => r.revision_id === row.revision_id)
    if (result.status === 'applied') {
      revision.status = 'applied'
      revision.revision = result.revision
      // a new revision goes (back) into review: earlier outcomes no longer describe it
      capture.server = { ...(capture.server || {}), revision: result.revision, conflict: result.conflict,
        link_state: result.link_state, complete: result.complete, stamped: false, review_state: 'pending',
        reason_code: null, reason_text: null }
      if (capture.state === 'queued') capture.state = 'sent'
      for (const photo of row.item.photos) {
        const stored = await tx.objectStore('photos').get(photo.id)
        if (!stored || stored.confirmed) continue
        stored.needs_upload = wanted.has(photo.id)
        if (!stored.needs_upload) { // the server already holds these bytes
          stored.confirmed = true
          stored.blob = null
        }
        await tx.objectStore('photos').put(stored)
      }
    } else {
      revision.status = 'rejected'
      revision.error = result.error
      capture.attention = result.error
      if (capture.state === 'queued') capture.state = 'attention'
    }
    await tx.objectStore('captures').put(capture)
    await tx.objectStore('outbox').delete(row.seq)
  }
  await tx.done
  return counts
}

/** Photos whose bytes the server still lacks (after their capture was applied). */
export async function photosToUpload (db) {
  return (await db.getAll('photos')).filter((p) => p.needs_upload && !p.confirmed && p.blob)
}

/** Remember the tus URL of a photo's upload, so a closed browser resumes it. */
export async function rememberUpload (db, photoId, url) {
  const tx = db.transaction('photos', 'readwrite')
  const photo = await tx.store.get(photoId)
  if (photo) {
    photo.upload_url = url
    await tx.store.put(photo)
  }
  await tx.done
}

/** The server confirmed the photo's bytes (tus finished, SHA-256 verified): the Blob may go. */
export async function confirmPhoto (db, photoId) {
  const tx = db.transaction('photos', 'readwrite')
  const photo = await tx.store.get(photoId)
  if (photo) {
    photo.confirmed = true
    photo.blob = null
    photo.needs_upload = false
    await tx.store.put(photo)
  }
  await tx.done
}

/** Store what GET /sync/status says about captures; a photo the server holds is confirmed. */
export async function applyStatus (db, statuses) {
  const tx = db.transaction(['captures', 'photos'], 'readwrite')
  for (const status of statuses) {
    const capture = await tx.objectStore('captures').get(status.capture_id)
    if (!capture) continue
    capture.server = { ...(capture.server || {}), ...status }
    await tx.objectStore('captures').put(capture)
    for (const p of status.photos) {
      if (p.state === 'awaiting_upload') continue
      const stored = await tx.objectStore('photos').get(p.id)
      if (stored && !stored.confirmed) {
        stored.confirmed = true
        stored.blob = null
        await tx.objectStore('photos').put(stored)
      }
    }
  }
  await tx.done
}

/** True while anything of the capture waits on the tablet: a draft, an outbox item or photo bytes. */
export function isUnsent (capture, outboxRows, photoRows) {
  if (capture.state === 'draft' || capture.state === 'attention') return true
  if (outboxRows.some((r) => r.capture_id === capture.capture_id)) return true
  return photoRows.some((p) => p.capture_id === capture.capture_id && !p.confirmed)
}

/**
 * The device was revoked: delete the customer data (pulled scope, sent captures) and the token;
 * keep every capture with something unsent, until the tablet is enrolled again.
 */
export async function wipeForRevocation (db) {
  await dropScope(db, { forgetDevice: true })
  const [captures, rows, photos] = await Promise.all([db.getAll('captures'), db.getAll('outbox'), db.getAll('photos')])
  const tx = db.transaction(['captures', 'photos'], 'readwrite')
  let kept = 0
  for (const capture of captures) {
    if (isUnsent(capture, rows, photos)) {
      kept++
      continue
    }
    await tx.objectStore('captures').delete(capture.capture_id)
    for (const p of photos.filter((x) => x.capture_id === capture.capture_id)) await tx.objectStore('photos').delete(p.id)
  }
  await tx.done
  return kept
}

// The server's error codes (docs/errors.md) as the inspector reads them.
export const ERROR_TEXT = {
  'enrolment.code_unknown': '登记码不对，请核对 8 位字符。',
  'enrolment.code_used': '该登记码已经用过，请向管理员索取新的登记码。',
  'enrolment.code_expired': '登记码已过期（24 小时内有效），请向管理员索取新的登记码。',
  'request.rate_limited': '尝试次数过多，请稍后再试。',
  'request.validation_failed': '请输入登记码。',
  'sync.capture_invalid': '服务器校验未通过，请联系管理员。',
  'sync.unknown_kind': '服务器不认识这种表单，请联系管理员。',
  'sync.unknown_version': '服务器不接受这个表单版本，请联系管理员。',
  'sync.id_reused': '记录编号冲突，请联系管理员。',
  'sync.not_owner': '这条记录不是您采集的，不能补正。'
}

/** A Chinese text for an error answer of the server (its code), else its message. */
export function errorText (error) {
  if (!error) return ''
  return ERROR_TEXT[error.code] || error.message || error.code || ''
}

/**
 * What the inspector sees for a capture: {code, label, detail}.
 * ctx: {online, progress: {photoId: percent}, photos: [stored photo rows of this capture]}.
 */
export function displayState (capture, ctx = {}) {
  const server = capture.server || {}
  const photos = ctx.photos || []
  if (capture.state === 'draft') {
    return capture.base_revision_id ? { code: 'draft', label: '补正草稿', detail: '修改后提交' } : { code: 'draft', label: '草稿', detail: '' }
  }
  if (capture.state === 'attention') {
    return { code: 'attention', label: '需处理', detail: errorText(capture.attention) }
  }
  const waitingPhotos = photos.filter((p) => !p.confirmed)
  if (capture.state === 'queued' || waitingPhotos.length) {
    const progress = ctx.progress || {}
    const sending = waitingPhotos.filter((p) => progress[p.id] !== undefined)
    if (ctx.syncing || sending.length) {
      const total = waitingPhotos.reduce((n, p) => n + p.size, 0)
      const sent = waitingPhotos.reduce((n, p) => n + (p.size * (progress[p.id] || 0)) / 100, 0)
      const pct = total ? Math.floor((100 * sent) / total) : 0
      return { code: 'sending', label: `发送中 ${pct}%`, detail: '', percent: pct }
    }
    return { code: 'waiting', label: '等待网络', detail: ctx.online === false ? '无网络，恢复后自动发送' : '等待发送' }
  }
  if (server.conflict) return { code: 'conflict', label: '冲突', detail: '同一记录有并行修改，档案员处理' }
  if (server.review_state === 'rejected' || server.review_state === 'has_issues') {
    return { code: 'rejected', label: server.review_state === 'rejected' ? '退回' : '有问题', detail: server.reason_text || '' }
  }
  if (server.review_state === 'approved') {
    return { code: 'approved', label: '已归档', detail: server.dossier_item_seq ? `卷内目录第 ${server.dossier_item_seq} 号` : '' }
  }
  if (server.stamped) return { code: 'stamped', label: '已固证', detail: '照片已加盖时间戳' }
  return { code: 'received', label: '已接收', detail: '' }
}
