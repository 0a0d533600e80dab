import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TaskWindow } from '../../src/concurrency/index.ts'

function deferred (): { promise: Promise<number>, resolve: (n: number) => void, reject: (err: Error) => void } {
  let resolve!: (n: number) => void
  let reject!: (err: Error) => void
  const promise = new Promise<number>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

test('a window holds at most its tasks, and room() waits for one to end', async () => {
  const window = new TaskWindow({ tasks: 2 })
  const a = deferred()
  const b = deferred()
  const seen: number[] = []
  window.track(a.promise, 0, (n) => seen.push(n))
  assert.equal(window.full, false)
  window.track(b.promise, 0, (n) => seen.push(n))
  assert.equal(window.full, true)
  let roomy = false
  const waiting = window.room().then(() => { roomy = true })
  await new Promise(resolve => setImmediate(resolve))
  assert.equal(roomy, false)
  b.resolve(2)
  await waiting
  assert.equal(window.size, 1)
  a.resolve(1)
  await window.settled()
  assert.deepEqual(seen, [2, 1])
  assert.equal(window.size, 0)
})

test('a window bounded in bytes is full once its tasks hold that many', async () => {
  const window = new TaskWindow({ tasks: 10, bytes: 100 })
  const a = deferred()
  window.track(a.promise, 60)
  assert.equal(window.full, false)
  const b = deferred()
  window.track(b.promise, 40)
  assert.equal(window.full, true)
  a.resolve(0)
  await window.room()
  assert.equal(window.full, false)
  b.resolve(0)
  await window.settled()
})

test('the first failure is kept, settled() never rejects, throwIfFailed throws it', async () => {
  const window = new TaskWindow({ tasks: 4 })
  const first = new Error('first')
  window.track(Promise.reject(first))
  window.track(Promise.reject(new Error('second')))
  window.track(Promise.resolve(1), 0, () => { throw new Error('from onDone') })
  await window.settled()
  assert.equal(window.failure, first)
  assert.throws(() => window.throwIfFailed(), /first/)
  assert.throws(() => new TaskWindow({ tasks: 0 }), RangeError)
})
