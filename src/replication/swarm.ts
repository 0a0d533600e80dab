// Swarm fetch: each blob is asked of the holder expected to deliver it first, given what that
// holder is already sending us and how fast it has been, so a read spreads over every holder and
// runs at the reader's downlink rather than one holder's uplink. A holder late by its own standard
// is hedged (another holder asked alongside, first verified answer wins, the loser cancelled); one
// that served bytes failing their hash is demoted and the blob fetched elsewhere.
import { VaultError } from '../errors.ts'
import type { Limiter } from '../concurrency/index.ts'

export interface SwarmOptions {
  /** One blob from one peer, hash-verified (the BlockClient, through the downloads limiter). */
  get: (peer: string, owner: string, id: string, signal: AbortSignal) => Promise<Buffer>
  /** Download slots shared by every fetch of this node; an attempt starts (and its hedge clock) once it has one. */
  slots: Limiter
  /** Holders asked at once for one blob. */
  width?: number
  /** Hedge deadline for a holder with no speed estimate yet. */
  hedgeAfterMs?: number
  /** Shortest hedge deadline, whatever a holder's estimate says. */
  minHedgeMs?: number
  /** A holder is hedged once a blob takes this many times what its estimate expected. */
  hedgeFactor?: number
  /** A holder served bytes that fail their hash, or said its copy is corrupt. */
  onWrongBytes?: (peer: string, owner: string, id: string) => void
  now?: () => number
}

export interface HolderStat {
  peer: string
  /** Blobs this holder delivered (verified) to this node. */
  served: number
  /** The current throughput estimate, bytes per second (undefined until it served once). */
  bytesPerSecond?: number
  demoted: boolean
}

/** Before any holder has served, its speed is assumed to be this (bytes per ms ≈ 64 MB/s). */
const PRIOR_BYTES_PER_MS = 64 * 1024
/** Busy time a throughput sample spans. */
const SAMPLE_MS = 250
const MIN_SAMPLE_BYTES = 256 * 1024
/** EWMA weight of a new sample (throughput, hit rate, blob size). */
const ALPHA = 0.3
/** A holder that served bad bytes is asked only when no other holder is left, for this long. */
const DEMOTED_MS = 60_000
/** An estimate with no news for this long starts to recover (doubling per period), so a holder slow once gets asked again. */
const STALE_MS = 10_000
/**
 * Blobs on the way from one holder at once: a holder starts with a couple (a stalled or lying
 * holder never gets more) and gains one per blob served, up to what the BlockClient sends to one peer.
 */
const PROBE_IN_FLIGHT = 2
const MAX_PER_HOLDER = 8
/** What a holder should deliver within at its speed, at most: well inside the block client's timeout. */
const QUEUE_MS = 4000
/** The longest hedge deadline (the block client's own timeout usually ends an attempt first). */
const MAX_HEDGE_MS = 60_000
/** Holders remembered; the least recently used beyond this are forgotten. */
const MAX_HOLDERS = 1024

class HolderEstimate {
  bytesPerMs: number | undefined
  inFlight = 0
  /** Throughput window: bytes delivered, and busy time (≥ 1 blob on the way) before `busySince`. */
  windowBytes = 0
  busyMs = 0
  /** When the current busy stretch (or window, if it began later) began. */
  busySince = 0
  hitRate = 1
  served = 0
  demotedUntil = 0
  updatedAt = 0
}

export class Swarm {
  private readonly o: Required<Omit<SwarmOptions, 'onWrongBytes'>> & Pick<SwarmOptions, 'onWrongBytes'>
  private readonly holders = new Map<string, HolderEstimate>()
  private typicalBytes = 1024 * 1024
  private readonly waiters = new Set<() => void>()

  constructor (options: SwarmOptions) {
    this.o = { width: 2, hedgeAfterMs: 1000, minHedgeMs: 150, hedgeFactor: 3, now: Date.now, ...options }
  }

  stats (): HolderStat[] {
    const now = this.o.now()
    return [...this.holders].map(([peer, h]) => ({
      peer,
      served: h.served,
      bytesPerSecond: h.bytesPerMs === undefined ? undefined : Math.round(h.bytesPerMs * 1000),
      demoted: h.demotedUntil > now
    }))
  }

  /**
   * Fetches `id` of `owner` from one of `candidates` (in the order to prefer when nothing is known
   * yet, e.g. the owner first, then the routing's order). NOT_FOUND when every holder asked said
   * so, else UNREACHABLE with what each one did.
   */
  async fetch (owner: string, id: string, candidates: string[], signal?: AbortSignal): Promise<Buffer> {
    const what = `blob ${id.slice(0, 12)}…`
    if (candidates.length === 0) throw new VaultError('UNREACHABLE', `no peer to fetch ${what} from`)
    const losers = new AbortController()
    const attemptSignal = signal == null ? losers.signal : AbortSignal.any([signal, losers.signal])
    const untried = [...new Set(candidates)]
    const failures: VaultError[] = []
    return await new Promise<Buffer>((resolve, reject) => {
      let running = 0
      let settled = false
      let hedge: NodeJS.Timeout | undefined
      const finish = (settle: () => void): void => {
        if (settled) return
        settled = true
        clearTimeout(hedge)
        signal?.removeEventListener('abort', onAbort)
        losers.abort(new Error('another holder answered first'))
        settle()
      }
      const onAbort = (): void => finish(() => reject(signal?.reason))
      // The hedge clock starts once the attempt has its download slot: waiting for one is not the
      // holder's fault. When it fires, another holder is asked only if it should deliver within the
      // time already waited (never a demoted one); else the clock is wound again to look later.
      const armHedge = (peer: string, started: number, deadlineMs: number): void => {
        clearTimeout(hedge)
        if (untried.length === 0 || running >= this.o.width) return
        hedge = setTimeout(() => {
          this.late(peer, started)
          const target = this.hedgeTarget(untried, this.o.now() - started)
          if (target !== undefined) launch(target)
          else armHedge(peer, started, deadlineMs)
        }, deadlineMs)
      }
      const launch = (target?: string): void => {
        if (settled || untried.length === 0 || running >= this.o.width) return
        running++
        if (target !== undefined) untried.splice(untried.indexOf(target), 1)
        let peer: string | undefined
        let started = 0
        this.o.slots.run(async () => {
          let chosen = target
          while (chosen === undefined && !settled && untried.length > 0 && (chosen = this.pickFrom(untried)) === undefined) await this.anyChange(attemptSignal)
          if (settled || chosen === undefined) return undefined
          peer = chosen
          if (target === undefined) untried.splice(untried.indexOf(chosen), 1)
          const deadlineMs = this.hedgeDeadlineMs(chosen)
          started = this.begin(chosen)
          armHedge(chosen, started, deadlineMs)
          return await this.o.get(chosen, owner, id, attemptSignal)
        }, attemptSignal).then(data => {
          if (data === undefined) {
            running--
            if (!settled && running === 0) finish(() => reject(summarise(what, failures)))
            return
          }
          this.succeeded(peer!, data.byteLength)
          finish(() => resolve(data))
        }, (err: unknown) => {
          running--
          if (peer === undefined) return // cancelled while waiting for a slot: already settled
          const failure = err instanceof VaultError ? err : new VaultError('PEER_ERROR', String((err as Error)?.message ?? err))
          this.failed(peer, started, settled ? undefined : failure)
          if (settled) return
          if (failure.code === 'CORRUPT') this.o.onWrongBytes?.(peer, owner, id)
          failures.push(failure)
          if (untried.length > 0) launch() // the next best, even a demoted one: a failure leaves no choice
          else if (running === 0) finish(() => reject(summarise(what, failures)))
        })
      }
      if (signal?.aborted === true) return onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
      launch()
    })
  }

  private estimate (peer: string): HolderEstimate {
    let h = this.holders.get(peer)
    if (h === undefined) {
      h = new HolderEstimate()
      if (this.holders.size >= MAX_HOLDERS) this.forgetIdle()
      this.holders.set(peer, h)
    }
    return h
  }

  private forgetIdle (): void {
    for (const [peer, h] of this.holders) {
      if (h.inFlight === 0) { this.holders.delete(peer); return }
    }
  }

  /**
   * Bytes per ms to plan with: the holder's own estimate, which doubles for every STALE_MS without
   * news (a holder slow once gets asked again, gradually); undefined while it has none.
   */
  private speedOf (h: HolderEstimate, now: number): number | undefined {
    if (h.bytesPerMs === undefined) return undefined
    const age = now - h.updatedAt
    return age < STALE_MS ? h.bytesPerMs : h.bytesPerMs * 2 ** Math.min(20, Math.floor(age / STALE_MS))
  }

  private bestKnownSpeed (now: number): number {
    let best = 0
    for (const h of this.holders.values()) best = Math.max(best, this.speedOf(h, now) ?? 0)
    return best > 0 ? best : PRIOR_BYTES_PER_MS
  }

  /** When a blob asked of `peer` now should arrive, in ms: its queue with us, its speed, how often it has the blob. */
  private expectedMs (peer: string, now: number, prior: number): number {
    const h = this.estimate(peer)
    const speed = this.speedOf(h, now) ?? prior
    const ms = (h.inFlight + 1) * this.typicalBytes / speed / Math.max(h.hitRate, 0.1)
    return h.demotedUntil > now ? ms + DEMOTED_MS : ms
  }

  /**
   * The candidate expected to deliver first that has room for one more blob (ties go to the earlier
   * one in the given order), or undefined when every candidate within 2× of the best expected time
   * is full: then waiting for a delivery beats asking a much slower one.
   */
  private pickFrom (untried: string[]): string | undefined {
    const now = this.o.now()
    const prior = this.bestKnownSpeed(now)
    const ranked = untried.map((peer, at) => ({ peer, at, ms: this.expectedMs(peer, now, prior) })).sort((x, y) => x.ms - y.ms || x.at - y.at)
    // The best with room, unless even it is expected to take over twice as long as the best.
    const open = ranked.find(c => this.estimate(c.peer).inFlight < this.roomOf(c.peer, now))
    return open !== undefined && open.ms <= 2 * ranked[0].ms ? open.peer : undefined
  }

  /**
   * Blobs `peer` may have on the way: 2 to start, one more per blob it delivered, at most 8, and
   * no more than it should deliver within QUEUE_MS at its estimated speed (at least 1): on a slow
   * uplink, blobs queued behind each other would otherwise run into the block timeout together.
   */
  private roomOf (peer: string, now: number): number {
    const h = this.estimate(peer)
    const speed = this.speedOf(h, now)
    const bySpeed = speed === undefined ? MAX_PER_HOLDER : Math.max(1, Math.floor(QUEUE_MS * speed / this.typicalBytes))
    return Math.min(MAX_PER_HOLDER, PROBE_IN_FLIGHT + h.served, bySpeed)
  }

  /** Whom a hedge asks: the best candidate if it is not demoted, has room, and should deliver within `waitedMs`. */
  private hedgeTarget (untried: string[], waitedMs: number): string | undefined {
    const peer = this.pickFrom(untried)
    if (peer === undefined) return undefined
    const now = this.o.now()
    const h = this.estimate(peer)
    return h.demotedUntil <= now && this.expectedMs(peer, now, this.bestKnownSpeed(now)) <= waitedMs ? peer : undefined
  }

  /** Resolves at the next delivery or failure of any holder (a holder's load or estimate changed). */
  private async anyChange (signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { this.waiters.delete(done); reject(signal.reason) }
      const done = (): void => { signal.removeEventListener('abort', onAbort); resolve() }
      this.waiters.add(done)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private notify (): void {
    const waiting = [...this.waiters]
    this.waiters.clear()
    for (const wake of waiting) wake()
  }

  /**
   * How long `peer` gets before a hedge: `hedgeAfterMs` while it has no estimate, else 3 × what its
   * estimate expects (never below `minHedgeMs`). Not capped by `hedgeAfterMs`: a holder on a slow
   * link with several blobs on the way is not late, and hedging it would spend a slow uplink twice.
   */
  private hedgeDeadlineMs (peer: string): number {
    const now = this.o.now()
    if (this.speedOf(this.estimate(peer), now) === undefined) return this.o.hedgeAfterMs
    const ms = this.o.hedgeFactor * this.expectedMs(peer, now, PRIOR_BYTES_PER_MS)
    return Math.round(Math.min(MAX_HEDGE_MS, Math.max(this.o.minHedgeMs, ms)))
  }

  private begin (peer: string): number {
    const h = this.estimate(peer)
    const now = this.o.now()
    if (h.inFlight === 0) h.busySince = now
    h.inFlight++
    return now
  }

  private end (h: HolderEstimate, now: number): void {
    h.inFlight--
    if (h.inFlight === 0) h.busyMs += now - h.busySince
  }

  /**
   * Throughput is bytes delivered over the time the holder was busy with us, sampled once a window
   * holds SAMPLE_MS of busy time (the first delivery gives the first estimate): blobs that travel
   * together arrive together, and one sample per arrival would read their bunching as speed.
   */
  private succeeded (peer: string, bytes: number): void {
    const h = this.estimate(peer)
    const now = this.o.now()
    const together = h.inFlight // this blob and those that travelled beside it
    this.end(h, now)
    h.windowBytes += bytes
    const busy = h.busyMs + (h.inFlight > 0 ? now - h.busySince : 0)
    // A small blob (a manifest) measures the round trip, not the link: samples wait for enough bytes.
    if (h.windowBytes >= MIN_SAMPLE_BYTES && (h.bytesPerMs === undefined || busy >= SAMPLE_MS)) {
      // The first delivery: the blobs beside it moved about as far, so count them too.
      const sample = (h.bytesPerMs === undefined ? h.windowBytes * together : h.windowBytes) / Math.max(1, busy)
      h.bytesPerMs = h.bytesPerMs === undefined ? sample : (1 - ALPHA) * h.bytesPerMs + ALPHA * sample
      h.windowBytes = 0
      h.busyMs = 0
      h.busySince = now
      h.updatedAt = now
    }
    h.hitRate = (1 - ALPHA) * h.hitRate + ALPHA
    h.served++
    this.typicalBytes = (1 - ALPHA) * this.typicalBytes + ALPHA * Math.max(bytes, 1024)
    this.notify()
  }

  /** `failure` is undefined when the attempt was cancelled because another holder answered first. */
  private failed (peer: string, started: number, failure: VaultError | undefined): void {
    const h = this.estimate(peer)
    const now = this.o.now()
    this.end(h, now)
    this.notify()
    if (failure === undefined) return
    if (failure.code === 'NOT_FOUND') h.hitRate = (1 - ALPHA) * h.hitRate
    else if (failure.code === 'CORRUPT') h.demotedUntil = now + DEMOTED_MS
    else this.late(peer, started, 2) // refused, timed out, unreachable: slower than it looked
  }

  /** A hedge fired: `peer` has not delivered a typical blob in the time since `started`, so it is at most that fast now. */
  private late (peer: string, started: number, slower = 1): void {
    const h = this.estimate(peer)
    const now = this.o.now()
    h.bytesPerMs = Math.min(h.bytesPerMs ?? PRIOR_BYTES_PER_MS, this.typicalBytes / Math.max(1, now - started)) / slower
    h.updatedAt = now
  }
}

/** A fetch no holder completed; `peerCodes` holds what each holder asked answered, in order. */
export class FetchFailure extends VaultError {
  readonly peerCodes: readonly string[]

  constructor (code: 'NOT_FOUND' | 'UNREACHABLE', message: string, peerCodes: readonly string[], options?: { cause?: unknown }) {
    super(code, message, options)
    this.peerCodes = peerCodes
  }

  /** True when `asked` holders (at least) were asked and each said it lacks the blob or served other bytes. */
  deniedByAll (asked: number): boolean {
    return this.peerCodes.length >= Math.max(1, asked) && this.peerCodes.every(code => code === 'NOT_FOUND' || code === 'CORRUPT')
  }
}

/** NOT_FOUND when every holder asked said so; otherwise UNREACHABLE, with what each one did. */
function summarise (what: string, failures: VaultError[]): VaultError {
  const counts = new Map<string, number>()
  for (const err of failures) counts.set(err.code, (counts.get(err.code) ?? 0) + 1)
  const detail = [...counts].map(([code, n]) => `${n} ${code}`).join(', ')
  const code = counts.size === 1 && counts.has('NOT_FOUND') ? 'NOT_FOUND' : 'UNREACHABLE'
  return new FetchFailure(code, `${what} could not be fetched from ${failures.length} peer(s) (${detail})`, failures.map(f => f.code), { cause: failures[0] })
}
