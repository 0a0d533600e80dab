// How late this process's timers have been lately: the sign that the process itself (not a peer)
// was starved of CPU (a loaded machine, many nodes in one process, a long synchronous task). A
// request that timed out while our own event loop stalled says nothing about the peer: the
// latency probe (latency.ts) does not count such a ping against it. One sampler per process,
// shared by every node in it and running only while one of them uses it.

const SAMPLE_MS = 100
/** Samples kept: enough to cover any request deadline we weigh (10 min at 100 ms). */
const KEPT = 6_000

let users = 0
let timer: NodeJS.Timeout | undefined
let expected = 0
/** Ring of [time the sample was taken, how late it fired in ms], oldest first once full. */
const samples: Array<[number, number]> = []
let next = 0

function tick (): void {
  const now = Date.now()
  const late = Math.max(0, now - expected)
  expected = now + SAMPLE_MS
  if (samples.length < KEPT) samples.push([now, late])
  else samples[next] = [now, late]
  next = (next + 1) % KEPT
}

/** Starts sampling (counted: stop once per start). */
export function startLoopLag (): void {
  if (users++ > 0) return
  expected = Date.now() + SAMPLE_MS
  timer = setInterval(tick, SAMPLE_MS)
  timer.unref()
}

export function stopLoopLag (): void {
  if (users === 0 || --users > 0) return
  clearInterval(timer)
  timer = undefined
  samples.length = 0
  next = 0
}

/** The longest a timer of this process was held up since `sinceMs` (a Date.now() value), up to now
 * (the delay of a sample still due counts too: a loop blocked right now has not sampled yet). */
function maxLoopLagSince (sinceMs: number): number {
  let max = timer == null ? 0 : Math.max(0, Date.now() - expected)
  for (const [at, late] of samples) if (at >= sinceMs && late > max) max = late
  return max
}

/** Whether this process was starved while a request with this deadline ran since `sinceMs`: its
 * timers held up a tenth of the deadline, at least 250 ms (or `thresholdMs` when given). A request
 * that failed meanwhile says nothing about the peer (a missed ping, a failed dial back). */
export function starvedSince (sinceMs: number, deadlineMs: number, thresholdMs?: number): { starved: boolean, lagMs: number } {
  const lagMs = maxLoopLagSince(sinceMs)
  return { starved: lagMs >= (thresholdMs ?? Math.max(250, deadlineMs / 10)), lagMs }
}
