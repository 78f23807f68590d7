// One sync round against a scripted server: push in order, photos over (fake) tus, pull applied
// with its cursor, status; a revoked token wipes the customer data; backoff grows and is capped.
import 'fake-indexeddb/auto'
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { open, getMeta, setMeta } from '../../server/web/capture/db.js'
import { addPhoto, newDraft, saveDraft, submit, pending } from '../../server/web/capture/outbox.js'
import { Revoked, applyPull, backoff, syncOnce } from '../../server/web/capture/sync.js'

const fixtures = JSON.parse(fs.readFileSync(process.env.CAPTURE_SCHEMA_FIXTURES, 'utf8'))
const D = fixtures.descriptors['usage_inspection.v2']
const SAMPLE = fixtures.cases.find((c) => c.name === 'usage_inspection.v2 sample').data
let n = 0

function answer (status, body) {
  return { ok: status < 400, status, text: async () => JSON.stringify(body) }
}

/** A fake server: records requests, answers push/pull/status like Dangan. */
function server ({ revoked = false } = {}) {
  const seen = []
  const fetchFn = async (url, init) => {
    const path = url.replace('/api/v1', '')
    seen.push({ method: init.method, path, body: init.body && JSON.parse(init.body), auth: init.headers.Authorization, credentials: init.credentials })
    if (revoked) return answer(401, { code: 'auth.token_revoked', message: 'revoked', details: {} })
    if (path === '/sync/push') {
      const items = JSON.parse(init.body).items
      return answer(200, {
        results: items.map((it) => ({ status: 'applied', revision_id: it.revision_id, capture_id: it.capture_id, revision: 1, conflict: false, link_state: 'linked', complete: false })),
        uploads: items.flatMap((it) => it.photos.map((p) => ({ photo_id: p.id, sha256: p.sha256, capture_id: it.capture_id })))
      })
    }
    if (path.startsWith('/sync/pull')) {
      const cursor = new URL('http://x' + path).searchParams.get('cursor')
      if (!cursor) return answer(200, { changes: [{ entity: 'dossier', id: '3100012345', op: 'upsert', data: { account_no: '3100012345', name: '江南精密' } }, { entity: 'future', id: 'x', op: 'upsert', data: {} }], cursor: 'c1', has_more: true, server_time: 't' })
      return answer(200, { changes: [{ entity: 'schema', id: 'usage_inspection.v2', op: 'upsert', data: D }], cursor: 'c2', has_more: false, server_time: 't' })
    }
    if (path.startsWith('/sync/status')) {
      const ids = new URL('http://x' + path).searchParams.getAll('id')
      return answer(200, { captures: ids.map((id) => ({ capture_id: id, revision: 1, conflict: false, stamped: true, review_state: 'pending', photos: [] })) })
    }
    return answer(404, { code: 'request.not_found' })
  }
  return { seen, fetchFn }
}

/** tus-js-client's surface as the app uses it; records what was uploaded. */
function fakeTus (uploaded) {
  return {
    Upload: class {
      constructor (blob, options) { this.blob = blob; this.options = options; this.url = null }
      start () {
        this.url = this.options.uploadUrl || `/api/v1/uploads/${this.options.metadata.photo_id}`
        this.options.onUploadUrlAvailable()
        uploaded.push({ metadata: this.options.metadata, size: this.blob.size, resumedFrom: this.options.uploadUrl })
        this.options.onProgress(this.blob.size, this.blob.size)
        setTimeout(() => this.options.onSuccess(), 0)
      }
    }
  }
}

async function tabletWithOneCapture () {
  const db = await open(`s${n++}`)
  await setMeta(db, 'token', 'dgn_test')
  const c = await newDraft(db, { kind: 'usage_inspection', schemaVersion: 2, accountNo: '3100012345' })
  await saveDraft(db, c.capture_id, SAMPLE)
  await addPhoto(db, c.capture_id, { slot: 'meter', category: 'meter', file: new Blob([new Uint8Array(3000).fill(7)], { type: 'image/jpeg' }) })
  await submit(db, c.capture_id, D)
  return { db, captureId: c.capture_id }
}

test('a round pushes, uploads the wanted photo, pulls every page with its cursor and asks the state', async () => {
  const { db, captureId } = await tabletWithOneCapture()
  const { seen, fetchFn } = server()
  const uploaded = []
  await syncOnce(db, { base: '/api/v1', fetchFn, tusLib: fakeTus(uploaded) })
  assert.deepEqual(seen.map((r) => r.path.split('?')[0]), ['/sync/push', '/sync/pull', '/sync/pull', '/sync/status'])
  assert.ok(seen.every((r) => r.auth === 'Bearer dgn_test' && r.credentials === 'omit'))
  assert.equal(seen[0].body.protocol, 1)
  assert.match(seen[0].body.device_time, /[+-]\d\d:\d\d$/)
  assert.equal(uploaded.length, 1)
  assert.equal(uploaded[0].size, 3000)
  assert.equal((await pending(db)).length, 0)
  assert.equal(await getMeta(db, 'cursor'), 'c2')
  assert.equal((await db.get('dossiers', '3100012345')).name, '江南精密')
  assert.equal((await db.getAll('photos'))[0].blob, null) // confirmed: the bytes may go
  assert.equal((await db.get('captures', captureId)).server.stamped, true)
})

test('a revoked token wipes the customer data and keeps the unsent capture', async () => {
  const { db, captureId } = await tabletWithOneCapture()
  await applyPull(db, { changes: [{ entity: 'dossier', id: '3100012345', op: 'upsert', data: { account_no: '3100012345' } }], cursor: 'c9', has_more: false })
  await assert.rejects(syncOnce(db, { base: '/api/v1', fetchFn: server({ revoked: true }).fetchFn, tusLib: fakeTus([]) }), Revoked)
  assert.equal(await getMeta(db, 'token'), null)
  assert.equal(await getMeta(db, 'cursor'), null)
  assert.equal(await db.count('dossiers'), 0)
  assert.ok(await db.get('captures', captureId))
  assert.equal((await pending(db)).length, 1)
})

test('a pull page and its cursor are applied together; deletes drop the dossier', async () => {
  const db = await open(`s${n++}`)
  await applyPull(db, { changes: [{ entity: 'dossier', id: 'a', op: 'upsert', data: { account_no: 'a' } }], cursor: 'c1' })
  await applyPull(db, { changes: [{ entity: 'dossier', id: 'a', op: 'delete' }], cursor: 'c2' })
  assert.equal(await db.count('dossiers'), 0)
  assert.equal(await getMeta(db, 'cursor'), 'c2')
})

test('backoff grows exponentially with jitter and stops at five minutes', () => {
  assert.equal(backoff(1, () => 0), 1000)
  assert.equal(backoff(1, () => 1), 2000)
  assert.equal(backoff(4, () => 1), 16000)
  assert.equal(backoff(30, () => 1), 300000)
  assert.equal(backoff(30, () => 0), 150000)
})
