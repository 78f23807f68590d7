import { test } from 'node:test'
import assert from 'node:assert/strict'
import { search, nearest, isAccountNo } from '../../server/web/capture/search.js'

const dossiers = [
  { account_no: '3100012345', name: '江南精密机械有限公司', address: '杭州市滨江区江南大道 1088 号', latitude: 30.2101, longitude: 120.2105 },
  { account_no: '3100099999', name: '西湖茶叶合作社', address: '杭州市西湖区龙井路 1 号', latitude: 30.2300, longitude: 120.1200 },
  { account_no: '5200011111', name: '滨江物业', address: '杭州市滨江区长河路 5 号' }
]

test('finds customers by 户号 prefix, name or address words', () => {
  assert.deepEqual(search(dossiers, '31000').map((d) => d.account_no), ['3100012345', '3100099999'])
  assert.deepEqual(search(dossiers, '茶叶').map((d) => d.account_no), ['3100099999'])
  assert.deepEqual(search(dossiers, '滨江 长河').map((d) => d.account_no), ['5200011111'])
  assert.equal(search(dossiers, '不存在').length, 0)
})

test('nearest customers come first, those without a position are left out', () => {
  const near = nearest(dossiers, 30.2102, 120.2106)
  assert.deepEqual(near.map((d) => d.account_no), ['3100012345', '3100099999'])
  assert.ok(near[0].distance_m < 20)
})

test('an unknown 户号 must still look like one', () => {
  assert.ok(isAccountNo('123456'))
  assert.ok(!isAccountNo('12345'))
  assert.ok(!isAccountNo('31000x2345'))
})
