// Form validation with the rules the server publishes in each schema descriptor (sync pull,
// entity "schema"): the same fields, types, required flags, choices, lengths, ranges, patterns and
// date order that the server checks on push. Pure functions: no DOM, no storage.

const ISO_AWARE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/

export const MESSAGES = {
  required: '必填',
  not_null: '不能为空',
  type: '格式不对',
  datetime: '请填写完整的日期和时间',
  date: '请填写日期',
  number: '请填写数字',
  integer: '请填写整数',
  boolean: '请选择是或否',
  choice: '请从选项中选择',
  unknown: '表单里没有这一项',
  pattern: '格式不对',
  list: '应为列表',
  object: '应为一组字段',
  slot: '缺少必拍照片'
}

function isBlank (value) {
  return value === undefined || value === ''
}

function validDate (text) {
  if (!ISO_DATE.test(text)) return false
  const d = new Date(text + 'T00:00:00Z')
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text
}

/** The messages for one value of one described field (an empty list when it is valid). */
export function checkValue (field, value) {
  const rules = field.rules || {}
  if (value === null) return rules.nullable ? [] : [MESSAGES.not_null]
  const errs = []
  switch (field.type) {
    case 'String':
      if (typeof value !== 'string') return [MESSAGES.type]
      break
    case 'AwareDateTime':
    case 'DateTime':
      if (typeof value !== 'string' || !ISO_AWARE.test(value) || Number.isNaN(Date.parse(value))) return [MESSAGES.datetime]
      return []
    case 'Date':
      if (typeof value !== 'string' || !validDate(value)) return [MESSAGES.date]
      return []
    case 'Float':
    case 'Number':
    case 'Decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) return [MESSAGES.number]
      break
    case 'Integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return [MESSAGES.integer]
      break
    case 'Boolean':
      if (typeof value !== 'boolean') return [MESSAGES.boolean]
      return []
    case 'Nested': {
      if (typeof value !== 'object' || Array.isArray(value)) return [MESSAGES.object]
      const inner = validateFields(field.fields || {}, value)
      return Object.keys(inner).length ? [inner] : []
    }
    case 'List': {
      if (!Array.isArray(value)) return [MESSAGES.list]
      const items = {}
      value.forEach((item, index) => {
        const e = field.items ? checkValue(field.items, item) : []
        if (e.length) items[index] = e
      })
      if (Object.keys(items).length) errs.push(items)
      break
    }
    default:
      break
  }
  const length = typeof value === 'string' || Array.isArray(value) ? value.length : null
  if (length !== null && rules.min_length !== undefined && length < rules.min_length) {
    errs.push(Array.isArray(value) ? `至少 ${rules.min_length} 项` : `至少 ${rules.min_length} 个字符`)
  }
  if (length !== null && rules.max_length !== undefined && length > rules.max_length) {
    errs.push(Array.isArray(value) ? `最多 ${rules.max_length} 项` : `最多 ${rules.max_length} 个字符`)
  }
  if (typeof value === 'number') {
    if (rules.min !== undefined && (rules.min_inclusive === false ? value <= rules.min : value < rules.min)) {
      errs.push(rules.min_inclusive === false ? `应大于 ${rules.min}` : `不能小于 ${rules.min}`)
    }
    if (rules.max !== undefined && (rules.max_inclusive === false ? value >= rules.max : value > rules.max)) {
      errs.push(rules.max_inclusive === false ? `应小于 ${rules.max}` : `不能大于 ${rules.max}`)
    }
  }
  if (typeof value === 'string' && rules.pattern && !new RegExp(rules.pattern).test(value)) errs.push(MESSAGES.pattern)
  const choices = rules.one_of || (field.choices ? Object.keys(field.choices) : null)
  if (typeof value === 'string' && choices && !choices.includes(value)) errs.push(MESSAGES.choice)
  return errs
}

/** Validate an object against described fields: required, unknown and per-field checks. */
export function validateFields (described, data) {
  const errors = {}
  for (const [name, field] of Object.entries(described)) {
    const value = data[name]
    if (isBlank(value)) {
      if (field.required) errors[name] = [MESSAGES.required]
      continue
    }
    const e = checkValue(field, value)
    if (e.length) errors[name] = e
  }
  for (const name of Object.keys(data)) {
    if (!(name in described)) errors[name] = [MESSAGES.unknown]
  }
  return errors
}

function dayOf (value) {
  return typeof value === 'string' ? localDay(value) : null
}

/** The calendar day of a date or an aware date-time, as written (its own offset), e.g. 2026-03-02. */
export function localDay (text) {
  return text.slice(0, 10)
}

/**
 * Validate form data and photo declarations of one capture against its schema descriptor.
 * Returns {} when valid, else {data: {field: [messages]}, photos: {_slots: [...]}} like the server.
 */
export function validateCapture (descriptor, data, photos = []) {
  const errors = {}
  const dataErrors = validateFields(descriptor.fields || {}, data || {})
  if (!Object.keys(dataErrors).length) {
    for (const { later, earlier } of descriptor.date_order || []) {
      const a = dayOf(data[later])
      const b = dayOf(data[earlier])
      if (a && b && a < b) dataErrors[later] = [`不能早于「${labelOf(descriptor, earlier)}」`]
    }
  }
  if (Object.keys(dataErrors).length) errors.data = dataErrors
  const filled = new Set(photos.map((p) => p.slot))
  const missing = (descriptor.photo_slots || []).filter((s) => s.required && !filled.has(s.name))
  if (missing.length) {
    errors.photos = { _slots: missing.map((s) => `${MESSAGES.slot}：${s.label}`) }
  }
  return errors
}

export function labelOf (descriptor, name) {
  const field = (descriptor.fields || {})[name]
  return (field && field.label) || name
}

/** True when validateCapture found nothing. */
export function isValid (errors) {
  return Object.keys(errors).length === 0
}
