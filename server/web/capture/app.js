// 现场采集: the screens of the capture app (enrol, find a customer, fill a form, see what was sent).
// Everything is kept in IndexedDB first; syncing runs in the background whenever the network is up.
import { open, getMeta, setMeta } from './db.js'
import {
  addPhoto, displayState, errorText as serverErrorText, isoNow, newDraft, openAmendment, saveDraft, submit
} from './outbox.js'
import { search, nearest, isAccountNo } from './search.js'
import { Revoked, ApiError, backoff, enrol, syncOnce } from './sync.js'

const view = document.getElementById('view')
const API = view.dataset.api
const state = { db: null, syncing: false, failures: 0, timer: null, progress: {}, errors: null, revokedNotice: false }

// ---------------------------------------------------------------- small DOM helpers
function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else if (key === 'class') node.className = value
    else if (key === 'dataset') Object.assign(node.dataset, value)
    else if (value === true) node.setAttribute(key, '')
    else node.setAttribute(key, value)
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

function toast (text) {
  const node = document.getElementById('toast')
  node.textContent = text
  node.hidden = false
  clearTimeout(toast.timer)
  toast.timer = setTimeout(() => { node.hidden = true }, 4000)
}

function go (hash) {
  if (location.hash === hash) render()
  else location.hash = hash
}

function mb (bytes) {
  return (bytes / 1024 / 1024).toFixed(1) + ' MB'
}

// ---------------------------------------------------------------- status bar and sync loop
async function updateBar () {
  const net = document.getElementById('net')
  const rows = await state.db.count('outbox')
  const photos = (await state.db.getAll('photos')).filter((p) => !p.confirmed).length
  const online = navigator.onLine
  net.textContent = state.syncing ? '同步中…' : online ? (rows + photos ? `待发送 ${rows} 条 / ${photos} 张` : '已同步') : `离线 · 待发送 ${rows} 条 / ${photos} 张`
  net.dataset.state = state.syncing ? 'syncing' : online ? 'online' : 'offline'
  document.getElementById('sync').hidden = !(await getMeta(state.db, 'token'))
  if (navigator.storage && navigator.storage.estimate) {
    const { usage, quota } = await navigator.storage.estimate()
    const persisted = navigator.storage.persisted ? await navigator.storage.persisted() : false
    document.getElementById('storage').textContent = `存储 ${mb(usage || 0)} / ${mb(quota || 0)}${persisted ? ' · 已保护' : ''}`
  }
}

function schedule (delay) {
  clearTimeout(state.timer)
  state.timer = setTimeout(runSync, delay)
}

async function runSync () {
  if (state.syncing) return
  if (!navigator.onLine || !(await getMeta(state.db, 'token'))) {
    await updateBar()
    return
  }
  state.syncing = true
  await refresh()
  try {
    await syncOnce(state.db, {
      base: API,
      onProgress: (photoId, percent) => { state.progress[photoId] = percent; refreshSoon() }
    })
    state.failures = 0
    document.body.dataset.synced = String(Date.now())
  } catch (err) {
    if (err instanceof Revoked) {
      state.revokedNotice = true
      toast('本机登记已失效：客户资料已从本机删除，未发送的记录仍保留。请重新登记。')
    } else {
      state.failures++
      console.warn('sync failed', err)
    }
  } finally {
    state.syncing = false
    state.progress = {}
    schedule(state.failures ? backoff(state.failures) : 60000)
    await refresh()
  }
}

let refreshPending = false
function refreshSoon () {
  if (refreshPending) return
  refreshPending = true
  setTimeout(() => { refreshPending = false; refresh() }, 250)
}

async function refresh () {
  await updateBar()
  const route = location.hash.split('/')[1] || 'home'
  if (route === 'home' || route === '') await render() // other screens keep the user's typing
}

// ---------------------------------------------------------------- enrol
async function decodeQr (file) {
  if ('BarcodeDetector' in window) {
    try {
      const detector = new window.BarcodeDetector({ formats: ['qr_code'] })
      const codes = await detector.detect(await createImageBitmap(file))
      if (codes.length) return codes[0].rawValue
    } catch (_) { /* fall back to jsQR */ }
  }
  const bitmap = await createImageBitmap(file)
  const scale = Math.min(1, 1600 / Math.max(bitmap.width, bitmap.height))
  const canvas = document.createElement('canvas')
  canvas.width = Math.round(bitmap.width * scale)
  canvas.height = Math.round(bitmap.height * scale)
  const ctx = canvas.getContext('2d')
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
  const image = ctx.getImageData(0, 0, canvas.width, canvas.height)
  const found = window.jsQR(image.data, image.width, image.height)
  return found ? found.data : null
}

export function codeFrom (text) {
  const match = String(text || '').match(/enrol=([A-Za-z0-9-]+)/)
  return (match ? match[1] : String(text || '')).trim().toUpperCase()
}

async function renderEnrol () {
  const kept = await state.db.count('captures')
  const fromLink = codeFrom(location.hash.includes('enrol=') ? location.hash : '')
  const input = el('input', { id: 'enrol-code', inputmode: 'text', autocomplete: 'off', autocapitalize: 'characters', maxlength: '16', placeholder: '8 位登记码', value: fromLink || null })
  const message = el('p', { class: 'error', id: 'enrol-error', role: 'alert' })
  const scan = el('input', { type: 'file', accept: 'image/*', capture: 'environment', id: 'enrol-scan', class: 'visually-hidden' })
  scan.addEventListener('change', async () => {
    const file = scan.files[0]
    if (!file) return
    const text = await decodeQr(file)
    if (text) input.value = codeFrom(text)
    else message.textContent = '没有识别出二维码，请重拍或手动输入登记码。'
  })
  async function doEnrol (event) {
    event.preventDefault()
    message.textContent = ''
    try {
      const answer = await enrol(state.db, API, codeFrom(input.value))
      if (navigator.storage && navigator.storage.persist) await navigator.storage.persist()
      state.revokedNotice = false
      toast(`登记成功：检查员 ${answer.inspector}`)
      history.replaceState(null, '', location.pathname + '#/home')
      runSync()
      render()
    } catch (err) {
      message.textContent = err instanceof ApiError ? serverErrorText(err) : '无法连接服务器，请联网后再登记。'
      message.dataset.code = (err && err.code) || 'network'
    }
  }
  view.replaceChildren(el('section', { class: 'card narrow' },
    el('h2', {}, '登记本机'),
    state.revokedNotice ? el('p', { class: 'warn', id: 'revoked' }, '本机登记已失效，客户资料已删除。') : null,
    el('p', {}, '请向管理员索取登记码（8 位，24 小时内有效，只能使用一次），扫描二维码或手动输入。'),
    kept ? el('p', { class: 'warn', id: 'kept' }, `本机保留 ${kept} 条采集记录，登记后自动发送。`) : null,
    el('form', { onsubmit: doEnrol },
      el('label', { for: 'enrol-code' }, '登记码'), input,
      el('div', { class: 'row' },
        el('button', { class: 'primary big', type: 'submit', id: 'enrol-submit' }, '登记'),
        el('label', { class: 'button big', for: 'enrol-scan' }, '扫描二维码'), scan),
      message)))
}

// ---------------------------------------------------------------- home: find a customer, my captures
function customerButton (d) {
  return el('button', { class: 'customer', type: 'button', dataset: { account: d.account_no }, onclick: () => go(`#/customer/${d.account_no}`) },
    el('strong', {}, d.name || '（无户名）'), el('span', { class: 'mono' }, d.account_no),
    el('span', { class: 'muted' }, d.address || ''),
    d.distance_m !== undefined ? el('span', { class: 'muted' }, `约 ${Math.round(d.distance_m)} 米`) : null)
}

async function captureRow (capture, photoRows) {
  const s = displayState(capture, { online: navigator.onLine, progress: state.progress, syncing: state.syncing, photos: photoRows.filter((p) => p.capture_id === capture.capture_id) })
  const schemaRow = await state.db.get('schemas', `${capture.kind}.v${capture.schema_version}`)
  const task = s.code === 'rejected'
  return el('li', { class: `capture state-${s.code}`, dataset: { captureId: capture.capture_id, state: s.code } },
    el('div', {},
      el('strong', {}, schemaRow ? schemaRow.label : capture.kind), ' · ',
      el('span', {}, capture.customer_name || `户号 ${capture.account_no}`),
      capture.customer_name ? null : el('span', { class: 'muted' }, '（未关联）')),
    el('div', {},
      el('span', { class: `badge ${s.code}` }, s.label),
      s.detail ? el('span', { class: 'detail' }, s.detail) : null),
    capture.state === 'draft'
      ? el('button', { type: 'button', class: 'button', onclick: () => go(`#/capture/${capture.capture_id}`) }, '继续填写')
      : null,
    task || s.code === 'attention'
      ? el('button', { type: 'button', class: 'primary amend', onclick: async () => { await openAmendment(state.db, capture.capture_id); go(`#/capture/${capture.capture_id}`) } }, task ? '重拍/补正' : '修改后重新提交')
      : null)
}

async function renderHome () {
  const dossiers = await state.db.getAll('dossiers')
  const captures = (await state.db.getAll('captures')).sort((a, b) => b.updated_at - a.updated_at)
  const photoRows = await state.db.getAll('photos')
  const results = el('div', { id: 'results', class: 'grid' })
  const query = el('input', { id: 'search', type: 'search', placeholder: '户号 / 户名 / 地址', value: state.query || null })
  const show = (list) => results.replaceChildren(...(list.length ? list.map(customerButton) : [el('p', { class: 'muted' }, dossiers.length ? '没有匹配的客户' : '本机还没有客户资料，请联网同步')]))
  query.addEventListener('input', () => { state.query = query.value; show(search(dossiers, query.value, 30)) })
  const near = el('button', { type: 'button', class: 'button big', id: 'nearby' }, '附近的客户')
  near.addEventListener('click', () => {
    navigator.geolocation.getCurrentPosition(
      (pos) => show(nearest(dossiers, pos.coords.latitude, pos.coords.longitude)),
      () => toast('无法定位'), { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 })
  })
  const unknown = el('input', { id: 'unknown-account', inputmode: 'numeric', placeholder: '户号（6–20 位数字）' })
  const rows = []
  const needsWork = (c) => ['rejected', 'attention'].includes(displayState(c).code)
  const ordered = captures.slice().sort((a, b) => needsWork(b) - needsWork(a))
  for (const c of ordered) rows.push(await captureRow(c, photoRows))
  view.replaceChildren(
    el('section', { class: 'card' },
      el('h2', {}, '找客户'),
      el('div', { class: 'row' }, query, near),
      results,
      el('details', {},
        el('summary', {}, '户号不在本机？'),
        el('div', { class: 'row' }, unknown,
          el('button', { type: 'button', class: 'button big', id: 'unknown-go', onclick: () => {
            if (isAccountNo(unknown.value)) go(`#/customer/${unknown.value.trim()}`)
            else toast('户号应为 6–20 位数字')
          } }, '按此户号采集')))),
    el('section', { class: 'card' },
      el('h2', {}, '我的采集'),
      rows.length ? el('ul', { class: 'captures', id: 'captures' }, rows) : el('p', { class: 'muted' }, '还没有采集记录')))
  show(search(dossiers, query.value, 30))
}

// ---------------------------------------------------------------- customer: choose a form
async function latestSchemas () {
  return (await state.db.getAll('schemas')).filter((s) => s.latest).sort((a, b) => a.kind.localeCompare(b.kind))
}

async function renderCustomer (accountNo) {
  const dossier = await state.db.get('dossiers', accountNo)
  const forms = await latestSchemas()
  view.replaceChildren(el('section', { class: 'card' },
    el('button', { type: 'button', class: 'link', onclick: () => go('#/home') }, '‹ 返回'),
    el('h2', {}, dossier ? dossier.name : `户号 ${accountNo}`),
    dossier
      ? el('p', {}, el('span', { class: 'mono' }, accountNo), ' · ', dossier.address || '', dossier.meter_number ? ` · 表号 ${dossier.meter_number}` : '')
      : el('p', { class: 'warn' }, '本机没有此户号的资料：记录上传后由档案员关联客户。'),
    el('h3', {}, '选择表单'),
    forms.length ? el('div', { class: 'grid' }, forms.map((f) => el('button', {
      type: 'button', class: 'primary big form-kind', dataset: { kind: f.kind },
      onclick: async () => {
        const draft = await newDraft(state.db, { kind: f.kind, schemaVersion: f.version, accountNo, customerName: dossier ? dossier.name : null })
        go(`#/capture/${draft.capture_id}`)
      }
    }, f.label))) : el('p', { class: 'muted' }, '还没有表单，请联网同步一次')))
}

// ---------------------------------------------------------------- the form, rendered from the schema
function localInputValue (iso) {
  return typeof iso === 'string' ? iso.slice(0, 16) : ''
}

function withOffset (local) {
  if (!local) return undefined
  const date = new Date(local)
  const offset = -date.getTimezoneOffset()
  const pad = (n) => String(Math.abs(n)).padStart(2, '0')
  return `${local.length === 16 ? local + ':00' : local}${offset >= 0 ? '+' : '-'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
}

/** [name, field] pairs in the schema's own order. */
function ordered (described) {
  const names = described.order || Object.keys(described.fields)
  return names.map((name) => [name, described.fields[name]])
}

function errorText (errs) {
  return (errs || []).filter((e) => typeof e === 'string').join('；')
}

function nestedErrors (errs) {
  return (errs || []).find((e) => e && typeof e === 'object') || {}
}

function fieldControl (field, name, obj, changed, errs, path) {
  const id = 'f-' + path.join('-')
  const set = (value) => {
    if (value === undefined || value === '' || (Array.isArray(value) && !value.length && !field.required)) delete obj[name]
    else obj[name] = value
    changed()
  }
  const label = el('label', { for: id, class: 'field-label' }, field.label || name, field.required ? el('span', { class: 'req' }, ' *') : null)
  const error = el('p', { class: 'error', dataset: { field: path.join('.') } }, errorText(errs))
  const value = obj[name]
  let control
  if (field.type === 'Nested') {
    const inner = value && typeof value === 'object' ? value : {}
    const sub = nestedErrors(errs)
    return el('fieldset', { class: 'nested' }, el('legend', {}, field.label || name, field.required ? ' *' : ''),
      ordered(field).map(([k, f]) => fieldControl(f, k, inner, () => {
        if (Object.keys(inner).length) obj[name] = inner
        else delete obj[name]
        changed()
      }, sub[k], [...path, k])), error)
  }
  if (field.type === 'List' && field.items && field.items.type === 'Nested') {
    const list = Array.isArray(value) ? value : []
    const wrap = el('fieldset', { class: 'nested list' }, el('legend', {}, field.label || name, field.required ? ' *' : ''))
    const draw = () => {
      const sub = nestedErrors(errs)
      wrap.replaceChildren(wrap.firstChild, ...list.map((entry, i) => el('div', { class: 'entry' },
        ordered(field.items).map(([k, f]) => fieldControl(f, k, entry, changed, nestedErrors(sub[i])[k], [...path, i, k])),
        el('button', { type: 'button', class: 'button', onclick: () => {
          list.splice(i, 1)
          if (list.length) obj[name] = list
          else delete obj[name]
          changed()
          draw()
        } }, '删除'))),
      el('button', { type: 'button', class: 'button', id: id + '-add', onclick: () => { list.push({}); obj[name] = list; changed(); draw() } }, '添加'), error)
    }
    draw()
    return wrap
  }
  if (field.type === 'List') {
    control = el('textarea', { id, rows: '2', placeholder: '每行一项' }, Array.isArray(value) ? value.join('\n') : '')
    control.addEventListener('input', () => set(control.value.split('\n').map((s) => s.trim()).filter(Boolean)))
  } else if (field.type === 'Boolean' || (field.type === 'String' && field.choices)) {
    const options = field.type === 'Boolean' ? [[true, '是'], [false, '否']] : Object.entries(field.choices)
    control = el('div', { class: 'choices', id, role: 'radiogroup' }, options.map(([key, text]) => {
      const input = el('input', { type: 'radio', name: id, value: String(key), checked: value === key })
      input.addEventListener('change', () => set(key))
      return el('label', { class: 'choice' }, input, text)
    }))
  } else if (field.type === 'AwareDateTime' || field.type === 'DateTime') {
    const input = el('input', { id, type: 'datetime-local', value: localInputValue(value) || null })
    input.addEventListener('input', () => set(withOffset(input.value)))
    const now = el('button', { type: 'button', class: 'button', onclick: () => { const v = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16); input.value = v; set(withOffset(v)) } }, '现在')
    control = el('div', { class: 'row' }, input, now)
  } else if (field.type === 'Date') {
    control = el('input', { id, type: 'date', value: value || null })
    control.addEventListener('input', () => set(control.value || undefined))
  } else if (['Float', 'Integer', 'Number', 'Decimal'].includes(field.type)) {
    control = el('input', { id, type: 'number', step: field.type === 'Integer' ? '1' : 'any', inputmode: 'decimal', value: value ?? null })
    control.addEventListener('input', () => set(control.value === '' ? undefined : Number(control.value)))
  } else {
    const long = (field.rules && field.rules.max_length > 200)
    control = long ? el('textarea', { id, rows: '3' }, value || '') : el('input', { id, type: 'text', value: value ?? null })
    control.addEventListener('input', () => set(control.value === '' ? undefined : control.value))
  }
  return el('div', { class: 'field', dataset: { name: path.join('.') } }, label, control, error)
}

function toFix (pos) {
  return { latitude: pos.coords.latitude, longitude: pos.coords.longitude, accuracy_m: pos.coords.accuracy, fix_time: new Date(pos.timestamp).toISOString() }
}

// The tablet's position is followed while the app is open, so a photo is kept at once with the
// latest fix instead of waiting for a new one.
function followPosition () {
  if (!navigator.geolocation) return
  navigator.geolocation.watchPosition((pos) => { state.fix = toFix(pos) }, () => {}, { enableHighAccuracy: true, maximumAge: 30000 })
}

function position () {
  if (state.fix && Date.now() - Date.parse(state.fix.fix_time) < 120000) return Promise.resolve(state.fix)
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null)
    navigator.geolocation.getCurrentPosition((pos) => resolve(toFix(pos)), () => resolve(null),
      { enableHighAccuracy: true, timeout: 5000, maximumAge: 120000 })
  })
}

// Thumbnails point at the stored Blobs; their URLs are released when the form is drawn again.
let objectUrls = []
function objectUrl (blob) {
  const url = URL.createObjectURL(blob)
  objectUrls.push(url)
  return url
}

function releaseObjectUrls () {
  for (const url of objectUrls) URL.revokeObjectURL(url)
  objectUrls = []
}

async function slotView (capture, slot, photoErrors) {
  const meta = capture.photos.find((p) => p.slot === slot.name)
  const stored = meta ? await state.db.get('photos', meta.id) : null
  const input = el('input', { type: 'file', accept: 'image/*', capture: 'environment', id: `slot-${slot.name}`, class: 'visually-hidden', dataset: { slot: slot.name } })
  input.addEventListener('change', async () => {
    const file = input.files[0]
    if (!file) return
    const capturedAt = isoNow()
    const gps = await position()
    await addPhoto(state.db, capture.capture_id, { slot: slot.name, category: slot.category, file, capturedAt, gps })
    toast(`已保存照片：${slot.label}`)
    renderForm(capture.capture_id)
  })
  const thumb = stored && stored.blob && /jpeg|png|webp/.test(stored.mime_type) ? el('img', { src: objectUrl(stored.blob), alt: slot.label, class: 'thumb' }) : null
  return el('div', { class: `slot ${meta ? 'filled' : 'empty'}`, dataset: { slot: slot.name } },
    el('div', {}, el('strong', {}, slot.label), slot.required ? el('span', { class: 'req' }, ' 必拍') : el('span', { class: 'muted' }, ' 选拍')),
    thumb,
    meta ? el('p', { class: 'muted photo-meta' }, `${meta.filename || ''} · ${mb(meta.size)} · ${meta.captured_at.slice(0, 19).replace('T', ' ')}`,
      meta.gps ? ` · 定位 ±${Math.round(meta.gps.accuracy_m || 0)} 米` : ' · 无定位') : null,
    el('label', { class: 'button big', for: input.id }, meta ? '重拍' : '拍照'), input,
    photoErrors ? el('p', { class: 'error' }, photoErrors) : null)
}

async function renderForm (captureId) {
  const capture = await state.db.get('captures', captureId)
  if (!capture) return go('#/home')
  const descriptor = await state.db.get('schemas', `${capture.kind}.v${capture.schema_version}`)
  if (!descriptor) {
    view.replaceChildren(el('p', { class: 'error' }, '本机没有这个表单的定义，请联网同步。'))
    return
  }
  if (capture.state !== 'draft') return go('#/home')
  releaseObjectUrls()
  const data = structuredClone(capture.data)
  let saving = Promise.resolve()
  const status = el('span', { class: 'muted', id: 'draft-status' }, '草稿已保存')
  const changed = () => {
    status.textContent = '保存中…'
    const snapshot = structuredClone(data)
    saving = saving.then(() => saveDraft(state.db, captureId, snapshot)).then(() => { status.textContent = '草稿已保存' })
  }
  const errors = state.errors && state.errors.captureId === captureId ? state.errors.errors : {}
  const dataErrors = errors.data || {}
  const slots = []
  for (const slot of descriptor.photo_slots) {
    const missing = (errors.photos && errors.photos._slots || []).find((m) => m.endsWith(slot.label))
    slots.push(await slotView(capture, slot, missing))
  }
  const send = async () => {
    await saving
    const result = await submit(state.db, captureId, descriptor)
    if (!result.ok) {
      state.errors = { captureId, errors: result.errors }
      toast('请按提示补全后再提交')
      await renderForm(captureId)
      const first = view.querySelector('.error:not(:empty)')
      if (first) first.scrollIntoView({ block: 'center' })
      return
    }
    state.errors = null
    toast('已保存到待发送，联网后自动发送')
    go('#/home')
    runSync()
  }
  view.replaceChildren(el('section', { class: 'card form', dataset: { captureId } },
    el('button', { type: 'button', class: 'link', onclick: () => go('#/home') }, '‹ 返回'),
    el('h2', {}, descriptor.label, capture.base_revision_id ? '（补正）' : ''),
    el('p', {}, capture.customer_name || `户号 ${capture.account_no}（未关联）`, ' ', status),
    capture.server && capture.server.reason_text ? el('p', { class: 'warn' }, `退回原因：${capture.server.reason_text}`) : null,
    el('h3', {}, '照片'), el('div', { class: 'slots' }, slots),
    el('h3', {}, '表单'),
    el('form', { id: 'capture-form', onsubmit: (e) => { e.preventDefault(); send() } },
      ordered(descriptor).map(([name, field]) => fieldControl(field, name, data, changed, dataErrors[name], [name])),
      el('div', { class: 'row sticky' },
        el('button', { type: 'submit', class: 'primary big', id: 'submit' }, '提交')))))
}

// ---------------------------------------------------------------- routing and start
async function render () {
  releaseObjectUrls()
  const token = await getMeta(state.db, 'token')
  if (!token) return renderEnrol()
  const [, route, arg] = location.hash.split('/')
  if (route === 'customer' && arg) return renderCustomer(decodeURIComponent(arg))
  if (route === 'capture' && arg) return renderForm(arg)
  return renderHome()
}

async function start () {
  state.db = await open()
  window.addEventListener('hashchange', () => { state.errors = null; render() })
  window.addEventListener('online', () => { updateBar(); runSync() })
  window.addEventListener('offline', () => updateBar())
  document.getElementById('sync').addEventListener('click', () => { state.failures = 0; runSync() })
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register(view.dataset.sw, { scope: './' }).catch((err) => console.warn('service worker', err))
  }
  await setMeta(state.db, 'opened_at', new Date().toISOString())
  followPosition()
  await render()
  await updateBar()
  document.body.dataset.ready = '1'
  runSync()
}

start()
