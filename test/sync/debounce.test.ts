// The debouncer of folder sync, on a fake clock: a burst gives one run after it is quiet, a
// continuous stream still gives one run per maxDelay, and changes during a run give one run after.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ChangeDebouncer, type Clock } from '../../src/sync/index.ts'

/** A clock whose time moves only when the test says, running due timers in order. */
class FakeClock implements Clock {
  time = 0
  private timers = new Map<NodeJS.Timeout, { at: number, fn: () => void }>()
  private nextId = 1

  now = (): number => this.time
  setTimeout = (fn: () => void, ms: number): NodeJS.Timeout => {
    const id = this.nextId++ as unknown as NodeJS.Timeout
    this.timers.set(id, { at: this.time + ms, fn })
    return id
  }

  clearTimeout = (id: NodeJS.Timeout): void => { this.timers.delete(id) }

  /** Moves time forward to `to`, firing every timer due on the way (and letting runs settle). */
  async advanceTo (to: number): Promise<void> {
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= to).sort((a, b) => a[1].at - b[1].at)[0]
      if (due === undefined) break
      this.timers.delete(due[0])
      this.time = due[1].at
      due[1].fn()
      await new Promise(setImmediate)
    }
    this.time = to
    await new Promise(setImmediate)
  }
}

function debouncer (clock: FakeClock, run: () => Promise<void> = async () => {}): { d: ChangeDebouncer, runs: number[] } {
  const runs: number[] = []
  const d = new ChangeDebouncer({ quietMs: 1_000, maxDelayMs: 10_000, clock, run: async () => { runs.push(clock.time); await run() } })
  return { d, runs }
}

test('a burst of 50 changes gives one run, once it has been quiet for quietMs', async () => {
  const clock = new FakeClock()
  const { d, runs } = debouncer(clock)
  for (let i = 0; i < 50; i++) { d.change(); await clock.advanceTo(clock.time + 10) }
  assert.deepEqual(runs, [], 'nothing before the burst is quiet')
  await clock.advanceTo(5_000)
  assert.deepEqual(runs, [490 + 1_000])
})

test('a continuous stream of changes still gives a run every maxDelayMs', async () => {
  const clock = new FakeClock()
  const { d, runs } = debouncer(clock)
  for (let t = 0; t < 25_000; t += 200) { await clock.advanceTo(t); d.change() }
  await clock.advanceTo(30_000)
  assert.deepEqual(runs, [10_000, 20_000, 25_800])
})

test('changes during a run give exactly one more run after it, never two at once', async () => {
  const clock = new FakeClock()
  let release!: () => void
  let active = 0
  let most = 0
  const { d, runs } = debouncer(clock, async () => {
    active++
    most = Math.max(most, active)
    if (runs.length === 1) await new Promise<void>((resolve) => { release = resolve })
    active--
  })
  d.change()
  await clock.advanceTo(1_000)
  assert.equal(runs.length, 1)
  for (let i = 0; i < 5; i++) { d.change(); await clock.advanceTo(clock.time + 3_000) }
  assert.equal(runs.length, 1, 'no second run while the first is going on')
  release()
  await clock.advanceTo(clock.time + 1)
  await clock.advanceTo(clock.time + 2_000)
  assert.equal(runs.length, 2)
  assert.equal(most, 1)
})

test('flush runs at once; stop cancels what is due and waits for the run', async () => {
  const clock = new FakeClock()
  const { d, runs } = debouncer(clock)
  d.flush()
  await clock.advanceTo(0)
  assert.deepEqual(runs, [0])
  d.change()
  await d.stop()
  await clock.advanceTo(60_000)
  assert.deepEqual(runs, [0])
})
