// The one progress throttle of the NDJSON jobs: at most one line per 200 ms, but a line that must
// be seen (a phase change, the last one) always passes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { PROGRESS_EVERY_MS, throttled } from '../../src/api/ndjson.ts'

test('progress passes at most once per 200 ms, and lines marked always pass at once', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 })
  const seen: number[] = []
  const report = throttled((n: number) => seen.push(n), (n) => n >= 100)
  report(1) // first: passes
  report(2) // same instant: dropped
  t.mock.timers.tick(PROGRESS_EVERY_MS - 1)
  report(3) // still inside the window: dropped
  report(100) // must be seen: passes
  t.mock.timers.tick(PROGRESS_EVERY_MS)
  report(4) // a window later: passes
  assert.deepEqual(seen, [1, 100, 4])
  assert.equal(PROGRESS_EVERY_MS, 200)
})
