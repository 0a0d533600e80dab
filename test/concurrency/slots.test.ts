// Slots: room by count and bytes, granted in the order asked; one task always gets in.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Slots } from '../../src/concurrency/index.ts'

test('slots grant by count and bytes, in the order asked, and one task always gets in', async () => {
  const slots = new Slots({ tasks: 2, bytes: 100 })
  const granted: string[] = []
  const ask = (name: string, size: number): Promise<void> => slots.take(size).then(() => { granted.push(name) })
  await ask('a', 60)
  const b = ask('b', 60) // 120 bytes > 100: waits for a
  const c = ask('c', 10) // would fit, but b asked first
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(granted, ['a'])
  slots.give(60)
  await b
  await c
  assert.deepEqual(granted, ['a', 'b', 'c'])
  const d = ask('d', 1) // two tasks in flight: waits on the count
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(granted, ['a', 'b', 'c'])
  slots.give(60)
  slots.give(10)
  await d
  slots.give(1)
  await ask('huge', 1_000) // bigger than the byte bound: goes alone
  assert.deepEqual(granted, ['a', 'b', 'c', 'd', 'huge'])
  assert.throws(() => new Slots({ tasks: 0 }), RangeError)
})
