// The tablet's IndexedDB: what it pulled (dossiers, schemas, reviews, cursor), what it captured
// (captures with their revisions, photos as Blobs) and the outbox of revisions not yet confirmed.
import { openDB } from './vendor/idb.js'

export const DB_NAME = 'dangan-capture'
export const DB_VERSION = 1

// Pulled from the server: deleted when the device is revoked or the server asks for a reset.
export const SCOPE_STORES = ['dossiers', 'schemas', 'reviews']

export function open (name = DB_NAME) {
  return openDB(name, DB_VERSION, {
    upgrade (db) {
      db.createObjectStore('meta') // key → value: token, device_id, inspector, cursor, last_sync …
      db.createObjectStore('dossiers', { keyPath: 'account_no' })
      db.createObjectStore('schemas', { keyPath: 'id' }) // "<kind>.v<version>"
      db.createObjectStore('reviews', { keyPath: 'capture_id' })
      const captures = db.createObjectStore('captures', { keyPath: 'capture_id' })
      captures.createIndex('updated_at', 'updated_at')
      // One frozen push item per revision, in the order they were saved (rule: never change an item).
      const outbox = db.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true })
      outbox.createIndex('revision_id', 'revision_id', { unique: true })
      const photos = db.createObjectStore('photos', { keyPath: 'id' }) // {id, capture_id, blob, upload_url, …}
      photos.createIndex('capture_id', 'capture_id')
    }
  })
}

export async function getMeta (db, key, fallback = null) {
  const value = await db.get('meta', key)
  return value === undefined ? fallback : value
}

export function setMeta (db, key, value) {
  return db.put('meta', value, key)
}

/** Forget the pulled scope and the cursor (revocation, reset); captures and the outbox stay. */
export async function dropScope (db, { forgetDevice = false } = {}) {
  const tx = db.transaction([...SCOPE_STORES, 'meta'], 'readwrite')
  for (const name of SCOPE_STORES) await tx.objectStore(name).clear()
  await tx.objectStore('meta').delete('cursor')
  if (forgetDevice) {
    for (const key of ['token', 'device_id', 'inspector']) await tx.objectStore('meta').delete(key)
  }
  await tx.done
}
