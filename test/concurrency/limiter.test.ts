import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Limiter } from '../../src/concurrency/index.ts'

test('a limiter never runs more than its limit at once and runs everything', async () => {
  const limiter = new Limiter(3)
  let running = 0
  let peak = 0
  const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await limiter.run(async () => {
    peak = Math.max(peak, ++running)
    await new Promise(resolve => setImmediate(resolve))
    running--
    return i
  })))
  assert.equal(peak, 3)
  assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i))
  assert.equal(limiter.idle, true)
})

test('a waiter that is aborted leaves the queue; a failing task frees its slot', async () => {
  const limiter = new Limiter(1)
  let release!: () => void
  const first = limiter.run(async () => await new Promise<void>(resolve => { release = resolve }))
  const controller = new AbortController()
  const waiting = limiter.run(async () => 'never', controller.signal)
  controller.abort(new Error('gave up'))
  await assert.rejects(waiting, /gave up/)
  release()
  await first
  await assert.rejects(limiter.run(async () => { throw new Error('boom') }), /boom/)
  assert.equal(await limiter.run(async () => 'next'), 'next')
  assert.equal(limiter.idle, true)
})
