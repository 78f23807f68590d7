// The outbox keeps every capture and photo until the server confirms it, pushes in order within
// the limits, and survives the app being closed (a fresh connection sees the same state).
import 'fake-indexeddb/auto'
import { test, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { open, getMeta, setMeta } from '../../server/web/capture/db.js'
import {
  addPhoto, applyPushAnswer, applyStatus, batches, displayState, newDraft, openAmendment, pending, photosToUpload,
  rememberUpload, saveDraft, sha256Hex, submit, wipeForRevocation, confirmPhoto, mimeOf, errorText
} from '../../server/web/capture/outbox.js'

const fixtures = JSON.parse(fs.readFileSync(process.env.CAPTURE_SCHEMA_FIXTURES, 'utf8'))
const D = fixtures.descriptors['usage_inspection.v2']
const SAMPLE = fixtures.cases.find((c) => c.name === 'usage_inspection.v2 sample').data
let n = 0
let db

beforeEach(async () => { db = await open(`t${n++}`) })

const jpeg = (seed, size = 5000) => new Blob([new Uint8Array(size).fill(seed)], { type: 'image/jpeg' })

async function readyCapture (accountNo = '3100012345') {
  const c = await newDraft(db, { kind: 'usage_inspection', schemaVersion: 2, accountNo, customerName: '江南精密' })
  await saveDraft(db, c.capture_id, SAMPLE)
  await addPhoto(db, c.capture_id, { slot: 'meter', category: 'meter', file: jpeg(1), gps: { latitude: 30.2, longitude: 120.2, accuracy_m: 5, fix_time: '2026-03-02T01:25:00Z' } })
  return c.capture_id
}

function applied (rows, uploads = []) {
  return {
    results: rows.map((r, i) => ({ status: 'applied', revision_id: r.revision_id, capture_id: r.capture_id, revision: 1 + i, conflict: false, link_state: 'linked', complete: false })),
    uploads: uploads.map((p) => ({ photo_id: p }))
  }
}

test('a draft is saved as typed and survives closing the app', async () => {
  const c = await newDraft(db, { kind: 'usage_inspection', schemaVersion: 2, accountNo: '9999999999' })
  await saveDraft(db, c.capture_id, { meter_number: '33' })
  db.close()
  db = await open(`t${n - 1}`)
  const again = await db.get('captures', c.capture_id)
  assert.equal(again.state, 'draft')
  assert.deepEqual(again.data, { meter_number: '33' })
  assert.equal(displayState(again).code, 'draft')
})

test('a photo keeps its original bytes as a Blob with its SHA-256, time and position', async () => {
  const id = await readyCapture()
  const capture = await db.get('captures', id)
  const meta = capture.photos[0]
  const stored = await db.get('photos', meta.id)
  assert.ok(stored.blob instanceof Blob)
  assert.equal(stored.blob.size, 5000)
  assert.equal(meta.sha256, await sha256Hex(jpeg(1)))
  assert.equal(meta.gps.accuracy_m, 5)
  assert.match(meta.captured_at, /[+-]\d\d:\d\d$/)
})

test('HEIC files without a browser type are declared as image/heic', () => {
  assert.equal(mimeOf({ name: 'IMG_0001.HEIC', type: '' }), 'image/heic')
  assert.equal(mimeOf({ name: 'x.jpg', type: 'image/jpeg' }), 'image/jpeg')
})

test('retaking a photo in a draft replaces the unsent one', async () => {
  const id = await readyCapture()
  await addPhoto(db, id, { slot: 'meter', category: 'meter', file: jpeg(2) })
  assert.equal((await db.get('captures', id)).photos.length, 1)
  assert.equal((await db.getAll('photos')).length, 1)
})

test('submitting validates with the schema and refuses what the server would refuse', async () => {
  const c = await newDraft(db, { kind: 'usage_inspection', schemaVersion: 2, accountNo: '3100012345' })
  await saveDraft(db, c.capture_id, { ...SAMPLE, seal_status: 'bad' })
  const result = await submit(db, c.capture_id, D)
  assert.equal(result.ok, false)
  assert.ok(result.errors.data.seal_status)
  assert.ok(result.errors.photos._slots)
  assert.equal((await pending(db)).length, 0)
})

test('a submitted capture waits in the outbox as a frozen push item until the server applies it', async () => {
  const id = await readyCapture()
  const { ok, item } = await submit(db, id, D)
  assert.ok(ok)
  assert.equal(item.base_revision_id, null)
  assert.equal(item.photos[0].slot, 'meter')
  const rows = await pending(db)
  assert.deepEqual(rows.map((r) => r.revision_id), [item.revision_id])
  assert.equal(displayState(await db.get('captures', id), { online: false, photos: await db.getAll('photos') }).code, 'waiting')
  await assert.rejects(saveDraft(db, id, {}), /amendment/)

  const photoId = item.photos[0].id
  await applyPushAnswer(db, rows, applied(rows, [photoId]))
  assert.equal((await pending(db)).length, 0)
  assert.deepEqual((await photosToUpload(db)).map((p) => p.id), [photoId])
  await rememberUpload(db, photoId, '/api/v1/uploads/abc')
  assert.equal((await db.get('photos', photoId)).upload_url, '/api/v1/uploads/abc')
  await confirmPhoto(db, photoId)
  const photo = await db.get('photos', photoId)
  assert.equal(photo.blob, null)
  assert.equal(displayState(await db.get('captures', id), { photos: [photo] }).code, 'received')
})

test('a photo the server already holds needs no upload', async () => {
  const id = await readyCapture()
  await submit(db, id, D)
  const rows = await pending(db)
  await applyPushAnswer(db, rows, applied(rows, []))
  assert.equal((await photosToUpload(db)).length, 0)
})

test('retry results stay in the outbox and rejected ones need the inspector', async () => {
  const a = await readyCapture('3100000001')
  const b = await readyCapture('3100000002')
  await submit(db, a, D)
  await submit(db, b, D)
  const rows = await pending(db)
  await applyPushAnswer(db, rows, {
    results: [
      { status: 'retry', revision_id: rows[0].revision_id, error: { code: 'sync.item_failed' } },
      { status: 'rejected', revision_id: rows[1].revision_id, error: { code: 'sync.not_owner', message: 'not yours' } }
    ],
    uploads: []
  })
  assert.deepEqual((await pending(db)).map((r) => r.capture_id), [a])
  const rejected = await db.get('captures', b)
  assert.deepEqual(displayState(rejected), { code: 'attention', label: '需处理', detail: '这条记录不是您采集的，不能补正。' })
  assert.equal(errorText({ code: 'x.unknown', message: 'as sent' }), 'as sent')
  const reopened = await openAmendment(db, b) // 修改后重新提交: nothing of it was applied, so a new capture again
  assert.equal(reopened.state, 'draft')
  assert.equal(reopened.base_revision_id, null)
  const { item } = await submit(db, b, D)
  assert.equal(item.base_revision_id, null)
  assert.equal(item.capture_id, b)
})

test('push batches respect the item and byte limits and keep the order', () => {
  const rows = Array.from({ length: 450 }, (_, i) => ({ seq: i, item: { n: i, pad: 'x'.repeat(3000) } }))
  const byItems = batches(rows, { maxItems: 200, maxBytes: 10 * 1024 * 1024 })
  assert.deepEqual(byItems.map((b) => b.length), [200, 200, 50])
  const byBytes = batches(rows)
  assert.ok(byBytes.every((b) => JSON.stringify(b.map((r) => r.item)).length < 1024 * 1024))
  assert.deepEqual(byBytes.flat().map((r) => r.seq), rows.map((r) => r.seq))
})

test('a rejection becomes a retake task that opens an amendment of the last revision', async () => {
  const id = await readyCapture()
  await submit(db, id, D)
  const rows = await pending(db)
  await applyPushAnswer(db, rows, applied(rows))
  const photoId = (await db.get('captures', id)).photos[0].id
  await applyStatus(db, [{ capture_id: id, revision: 1, conflict: false, stamped: true, review_state: 'rejected', reason_text: '照片模糊', dossier_item_seq: null, photos: [{ id: photoId, state: 'stamped' }] }])
  let capture = await db.get('captures', id)
  assert.deepEqual([displayState(capture).code, displayState(capture).detail], ['rejected', '照片模糊'])
  capture = await openAmendment(db, id)
  assert.equal(capture.state, 'draft')
  assert.equal(capture.base_revision_id, rows[0].revision_id)
  await addPhoto(db, id, { slot: 'meter', category: 'meter', file: jpeg(3) })
  const { item } = await submit(db, id, D)
  assert.equal(item.base_revision_id, rows[0].revision_id)
  assert.notEqual(item.photos[0].id, photoId)
  const again = await pending(db)
  await applyPushAnswer(db, again, applied(again))
  await applyStatus(db, [{ capture_id: id, revision: 2, conflict: false, stamped: true, review_state: 'approved', reason_text: null, dossier_item_seq: 7, photos: [] }])
  const done = displayState(await db.get('captures', id))
  assert.deepEqual([done.code, done.detail], ['approved', '卷内目录第 7 号'])
})

test('revocation deletes customer data and sent captures but keeps unsent ones', async () => {
  await setMeta(db, 'token', 'dgn_x')
  await db.put('dossiers', { account_no: '3100012345', name: '江南精密' })
  const sent = await readyCapture('3100000001')
  await submit(db, sent, D)
  const rows = await pending(db)
  await applyPushAnswer(db, rows, applied(rows))
  const unsent = await readyCapture('3100000002')
  await submit(db, unsent, D)
  const draft = await newDraft(db, { kind: 'usage_inspection', schemaVersion: 2, accountNo: '3100000003' })
  const kept = await wipeForRevocation(db)
  assert.equal(kept, 2)
  assert.equal(await getMeta(db, 'token'), null)
  assert.equal((await db.getAll('dossiers')).length, 0)
  assert.deepEqual((await db.getAllKeys('captures')).sort(), [unsent, draft.capture_id].sort())
  assert.equal((await pending(db)).length, 1)
  const photo = (await db.getAll('photos')).find((p) => p.capture_id === unsent)
  assert.ok(photo.blob instanceof Blob)
})

test('sending shows the share of photo bytes sent; a conflict is shown as such', async () => {
  const id = await readyCapture()
  await submit(db, id, D)
  const rows = await pending(db)
  await applyPushAnswer(db, rows, applied(rows, [(await db.get('captures', id)).photos[0].id]))
  const photos = await db.getAll('photos')
  const sending = displayState(await db.get('captures', id), { syncing: true, progress: { [photos[0].id]: 40 }, photos })
  assert.deepEqual([sending.code, sending.percent], ['sending', 40])
  await confirmPhoto(db, photos[0].id)
  await applyStatus(db, [{ capture_id: id, revision: 2, conflict: true, stamped: false, review_state: 'pending', photos: [] }])
  assert.equal(displayState(await db.get('captures', id), { photos: await db.getAll('photos') }).code, 'conflict')
})
