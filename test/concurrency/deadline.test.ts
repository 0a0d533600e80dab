// settleBy: the caller stops waiting when the signal aborts, and the work it gives up on never
// becomes an unhandled rejection — also when the signal had aborted before the call (an auditor
// stopped between building a request and racing it: the suite saw that as a failing node stop).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { settleBy } from '../../src/concurrency/index.ts'

async function unhandledDuring (run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = []
  const onUnhandled = (reason: unknown): void => { seen.push(reason) }
  process.on('unhandledRejection', onUnhandled)
  try {
    await run()
    await tick()
    await tick()
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
  return seen
}

test('a signal aborted before the call: the abort reason, and the failing work is not an unhandled rejection', async () => {
  const stopping = new Error('the node is stopping')
  const seen = await unhandledDuring(async () => {
    const work = Promise.reject(new Error('the request failed'))
    await assert.rejects(settleBy(work, AbortSignal.abort(stopping)), (err) => err === stopping)
  })
  assert.deepEqual(seen, [])
})

test('a signal that aborts while waiting: the abort reason at once; work failing later is not unhandled', async () => {
  const controller = new AbortController()
  let fail!: (err: Error) => void
  const work = new Promise<number>((_resolve, reject) => { fail = reject })
  const seen = await unhandledDuring(async () => {
    const settled = settleBy(work, controller.signal)
    controller.abort(new Error('bound reached'))
    await assert.rejects(settled, /bound reached/)
    fail(new Error('the request failed late'))
  })
  assert.deepEqual(seen, [])
})

test('work that settles first gives its value, and a later abort changes nothing', async () => {
  const controller = new AbortController()
  assert.equal(await settleBy(Promise.resolve(42), controller.signal), 42)
  const seen = await unhandledDuring(async () => { controller.abort(new Error('late')) })
  assert.deepEqual(seen, [])
})
