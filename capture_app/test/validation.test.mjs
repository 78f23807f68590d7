// The app validates forms with the rules the server publishes, and reaches the server's verdict on
// the same cases (fixtures written by tests/helpers/capture_app.py from capture_schema).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { validateCapture, isValid, checkValue } from '../../server/web/capture/validation.js'

const fixtures = JSON.parse(fs.readFileSync(process.env.CAPTURE_SCHEMA_FIXTURES, 'utf8'))

for (const c of fixtures.cases) {
  test(`same verdict as the server: ${c.name}`, () => {
    const descriptor = fixtures.descriptors[`${c.kind}.v${c.version}`]
    const errors = validateCapture(descriptor, c.data, c.photos)
    assert.deepEqual(Object.keys(errors.data || {}).sort(), c.server.data, JSON.stringify(errors))
    assert.deepEqual(Object.keys(errors.photos || {}).sort(), c.server.photos, JSON.stringify(errors))
  })
}

test('every published form has fields, labels and its required photo slots', () => {
  for (const [id, d] of Object.entries(fixtures.descriptors)) {
    assert.equal(id, `${d.kind}.v${d.version}`)
    assert.ok(d.label && Object.keys(d.fields).length, id)
    assert.ok(d.photo_slots.some((s) => s.required), id)
    for (const [name, field] of Object.entries(d.fields)) assert.ok(field.label, `${id}.${name} has a label`)
  }
})

test('messages name what is wrong in Chinese', () => {
  const d = fixtures.descriptors['usage_inspection.v2']
  const errors = validateCapture(d, {}, [])
  assert.deepEqual(errors.data.meter_number, ['必填'])
  assert.match(errors.photos._slots[0], /电能表照片/)
  assert.ok(!isValid(errors))
})

test('ranges honour exclusive bounds and strings their maximum length', () => {
  assert.deepEqual(checkValue({ type: 'Float', rules: { min: 0, min_inclusive: false } }, 0), ['应大于 0'])
  assert.deepEqual(checkValue({ type: 'Float', rules: { min: 0, min_inclusive: false } }, 0.1), [])
  assert.deepEqual(checkValue({ type: 'String', rules: { max_length: 3 } }, 'abcd'), ['最多 3 个字符'])
  assert.deepEqual(checkValue({ type: 'String', rules: { nullable: true } }, null), [])
  assert.deepEqual(checkValue({ type: 'String' }, null), ['不能为空'])
})
