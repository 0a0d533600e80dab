// The owner's audits of its holders (Storj's audits are the model): a cheap HAS over every blob
// recorded for a holder, then a proof of possession over a random sample. A copy a holder lacks,
// proves wrong, or repeatedly fails to prove in time is dropped from the catalog at once, so the
// replica counts show verified copies and repair remakes what was lost.
import type { Logger } from 'pino'
import type { Catalog } from '../catalog/index.ts'
import { VaultError } from '../errors.ts'
import type { BlobStore } from '../store/index.ts'
import type { BlockClient } from './block-client.ts'
import { MAX_IDS_PER_REQUEST, MAX_PROVE_IDS, shortId } from './block-protocol.ts'
import { newAuditNonce, proofOf } from './audit-proof.ts'
import { Limiter, settleBy } from '../concurrency/index.ts'
import { nodeIdsOf, type Routing } from '../net/index.ts'

export type HolderFaultKind = 'missing' | 'wrong' | 'timeout'

export interface AuditorOptions {
  client: BlockClient
  store: BlobStore
  catalog: Catalog
  ownerId: string
  /** The peers reachable now (only they are audited). */
  routing: Routing
  log: Logger
  /** How often every live holder is audited; 0 turns periodic audits off. */
  auditEveryMs: number
  /** A holder that (re)connects is audited this soon: a replaced disk is caught within seconds. */
  afterConnectMs?: number
  /** Blobs per holder per audit whose bytes must be proven. */
  sampleBlobs?: number
  /** Bytes of this owner's own copies read to check proofs, per audit period, over all holders. */
  budgetBytesPerPeriod?: number
  /** Holders audited at once. */
  concurrency?: number
  /** Audits in a row that time out before the sampled copies are dropped. */
  timeoutsBeforeDrop?: number
  /**
   * The most one audit request is waited for, whatever the layers below do (default: 3 × the
   * client's own time bound, which covers the wait for a stream slot too). Past it the request is
   * abandoned without a verdict on the holder: the client's own TIMEOUT is the evidence, not this.
   */
  requestBoundMs?: number
  /** Copies were dropped: the files are below target now (the caller schedules a repair). */
  onCopiesLost: () => void
  /** Start and end of every audit of a holder, whoever started it. */
  onJob?: (progress: AuditJobProgress) => void
}

/** One audit of one holder as the node's activity shows it. */
export interface AuditJobProgress {
  phase: 'started' | 'done' | 'failed'
  /** The node's timer, a holder that (re)connected, or a caller. */
  trigger: 'timer' | 'peer' | 'request'
  holder: string
  /** Copies checked by HAS, proven with the bytes, dropped, in this audit. */
  checked: number
  proven: number
  dropped: number
  /** False when the holder did not answer (it went away, or timed out). */
  answered?: boolean
  error?: string
}

type AuditTally = Pick<AuditJobProgress, 'checked' | 'proven' | 'dropped'>

export interface AuditSummary {
  /** When the last audit of a holder finished (null: none yet). */
  at: string | null
  /** Audits of a holder completed. */
  holders: number
  /** Copies checked by HAS, and of those proven with the bytes. */
  checked: number
  proven: number
  /** Copies dropped from the catalog after a failed audit or a holder's report. */
  dropped: number
}

export class Auditor {
  private readonly o: AuditorOptions
  private readonly log: Logger
  private readonly limiter: Limiter
  private readonly abort = new AbortController()
  private readonly auditing = new Map<string, Promise<void>>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly timeouts = new Map<string, number>()
  /** Copies a holder failed, by holder: never "confirmed" until it proves that blob again. */
  private readonly failedCopies = new Map<string, Set<string>>()
  private readonly faultTotals: Record<HolderFaultKind, number> = { missing: 0, wrong: 0, timeout: 0 }
  private readonly summaryNow: AuditSummary = { at: null, holders: 0, checked: 0, proven: 0, dropped: 0 }
  private budgetLeft: number
  private interval: NodeJS.Timeout | undefined

  constructor (options: AuditorOptions) {
    this.o = options
    this.log = options.log.child({ sub: 'audit' })
    this.limiter = new Limiter(options.concurrency ?? 2)
    this.budgetLeft = this.budgetPerPeriod()
  }

  private budgetPerPeriod (): number {
    return this.o.budgetBytesPerPeriod ?? 64 * 1024 * 1024
  }

  start (): void {
    if (this.o.auditEveryMs <= 0) return
    this.interval = setInterval(() => { void this.auditAll('timer') }, this.o.auditEveryMs)
    this.interval.unref()
  }

  async stop (): Promise<void> {
    this.abort.abort(new Error('the node is stopping'))
    clearInterval(this.interval)
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    await Promise.allSettled([...this.auditing.values()])
  }

  /** A holder (re)connected: audit it soon, whatever the period (a replaced disk shows at once). */
  peerConnected (peer: string): void {
    if (this.o.auditEveryMs <= 0 || this.abort.signal.aborted) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void this.audit(peer, 'peer')
    }, this.o.afterConnectMs ?? 2_000)
    timer.unref()
    this.timers.add(timer)
  }

  /** One round over every live holder; the byte budget starts afresh. */
  async auditAll (trigger: AuditJobProgress['trigger'] = 'request'): Promise<void> {
    this.budgetLeft = this.budgetPerPeriod()
    const live = new Set(nodeIdsOf(this.o.routing.allPeers()))
    const holders = this.o.catalog.holders.peers().filter(peer => live.has(peer) && peer !== this.o.ownerId)
    await Promise.allSettled(holders.map(async peer => await this.audit(peer, trigger)))
  }

  /** Audits one holder (joins an audit of it already running). */
  async audit (peer: string, trigger: AuditJobProgress['trigger'] = 'request'): Promise<void> {
    const running = this.auditing.get(peer)
    if (running !== undefined) return await running
    const run = this.limiter.run(async () => await this.published(peer, trigger), this.abort.signal)
      .catch((err: unknown) => { if (!this.abort.signal.aborted) this.log.warn({ peer: shortId(peer), err }, 'audit failed') })
      .finally(() => this.auditing.delete(peer))
    this.auditing.set(peer, run)
    await run
  }

  /** A fault on a blob of another owner (wrong bytes served to a reader): counted, nothing to drop. */
  countFault (kind: HolderFaultKind): void {
    this.faultTotals[kind]++
  }

  faults (): Record<HolderFaultKind, number> {
    return { ...this.faultTotals }
  }

  summary (): AuditSummary {
    return { ...this.summaryNow }
  }

  /** False when `peer` failed an audit (or served wrong bytes) for `blobId` and has not proven it since. */
  trusted (peer: string, blobId: string): boolean {
    return this.failedCopies.get(peer)?.has(blobId) !== true
  }

  /**
   * `peer` lost or damaged these copies (a failed audit, wrong bytes served, its own report): they
   * stop counting at once and repair is scheduled. Returns the catalog records dropped.
   */
  fault (peer: string, blobIds: string[], kind: HolderFaultKind): number {
    const dropped = this.dropCopies(peer, blobIds, kind)
    if (dropped > 0) this.copiesLost(peer, dropped)
    return dropped
  }

  /** Drops the records of these copies; only copies we had recorded count (a concurrent `rm` may have dropped the rest). */
  private dropCopies (peer: string, blobIds: string[], kind: HolderFaultKind): number {
    const dropped = this.o.catalog.holders.dropCopies(peer, blobIds)
    if (dropped.length === 0) return 0
    // Only recorded copies are remembered, so a peer's reports cannot grow this set at will.
    const failed = this.failedCopies.get(peer) ?? new Set<string>()
    for (const id of dropped) failed.add(id)
    this.failedCopies.set(peer, failed)
    this.faultTotals[kind] += dropped.length
    this.summaryNow.dropped += dropped.length
    return dropped.length
  }

  private copiesLost (peer: string, copies: number): void {
    this.log.warn({ peer: shortId(peer), copies }, 'holder failed an audit: its copies no longer count and are remade')
    this.o.catalog.refreshAllReplicas()
    this.o.onCopiesLost()
  }

  /** Runs one audit of `peer` and tells `onJob` it started and how it ended. */
  private async published (peer: string, trigger: AuditJobProgress['trigger']): Promise<void> {
    const tally: AuditTally = { checked: 0, proven: 0, dropped: 0 }
    const publish = (phase: AuditJobProgress['phase'], more: Partial<AuditJobProgress> = {}): void => {
      this.o.onJob?.({ phase, trigger, holder: peer, ...tally, ...more })
    }
    publish('started')
    try {
      publish('done', { answered: await this.auditNow(peer, tally) })
    } catch (err) {
      publish('failed', { error: (err as Error).message })
      throw err
    }
  }

  /** False when the holder did not answer. */
  private async auditNow (peer: string, tally: AuditTally): Promise<boolean> {
    const sample = new Sample(this.o.sampleBlobs ?? MAX_PROVE_IDS, this.failedCopies.get(peer))
    let after = ''
    let dropped = 0
    let answered = true
    for (;;) {
      const page = this.o.catalog.holders.heldBy(peer, after, MAX_IDS_PER_REQUEST)
      if (page.length === 0) break
      after = page[page.length - 1]
      const held = await this.ask(peer, 'has', page, async (bound) => await this.o.client.hasBlobs(peer, this.o.ownerId, page, bound))
      if (held === undefined) { answered = false; break }
      this.summaryNow.checked += page.length
      tally.checked += page.length
      // Per page, but replica counts are refreshed once: a holder may have lost a million copies.
      dropped += this.dropCopies(peer, page.filter(id => !held.has(id)), 'missing')
      for (const id of page) if (held.has(id)) sample.offer(id)
    }
    tally.dropped += dropped
    if (dropped > 0) this.copiesLost(peer, dropped)
    if (!answered) return false
    await this.prove(peer, sample.picked(), tally)
    this.summaryNow.holders++
    this.summaryNow.at = new Date().toISOString()
    return true
  }

  /** The proof of possession over the sampled blobs, checked against this owner's own copies. */
  private async prove (peer: string, candidates: string[], tally: AuditTally): Promise<void> {
    const expected = new Map<string, string>()
    const nonce = newAuditNonce()
    for (const id of candidates) {
      if (expected.size >= MAX_PROVE_IDS) break
      // Our own disk, bounded by stop() only: a node that stops never waits on a hung read.
      const size = await settleBy(this.o.store.size(this.o.ownerId, id), this.abort.signal).catch(() => undefined)
      if (size === undefined || size > this.budgetLeft) continue // we lack it, or the period's budget is spent
      const bytes = await settleBy(this.o.store.get(this.o.ownerId, id), this.abort.signal).catch(() => undefined) // our copy must be good
      if (bytes === undefined) continue
      this.budgetLeft -= size
      expected.set(id, proofOf(nonce, bytes))
    }
    const ids = [...expected.keys()]
    if (ids.length === 0) return
    const proofs = await this.ask(peer, 'prove', ids, async (bound) => await this.o.client.proveBlobs(peer, this.o.ownerId, nonce, ids, bound))
    if (proofs === undefined) return
    const missing = ids.filter((_, i) => proofs[i] === null)
    const wrong = ids.filter((id, i) => proofs[i] !== null && proofs[i] !== expected.get(id))
    this.summaryNow.proven += ids.length - missing.length - wrong.length
    tally.proven += ids.length - missing.length - wrong.length
    const failed = this.failedCopies.get(peer)
    for (const id of ids) if (!missing.includes(id) && !wrong.includes(id)) failed?.delete(id)
    if (failed?.size === 0) this.failedCopies.delete(peer)
    const dropped = this.dropCopies(peer, missing, 'missing') + this.dropCopies(peer, wrong, 'wrong')
    tally.dropped += dropped
    if (dropped > 0) this.copiesLost(peer, dropped)
  }

  /**
   * One audit request. A holder that times out `timeoutsBeforeDrop` times in a row loses these
   * copies; any other failure (it went away, an old node) just ends this audit.
   */
  private async ask<T> (peer: string, op: 'has' | 'prove', ids: string[], request: (bound: AbortSignal) => Promise<T>): Promise<T | undefined> {
    // Counted per op: a holder whose HAS answers but whose proofs never do is still judged.
    const key = `${op} ${peer}`
    // The request is raced against its bound, not only given it: an audit returns even when a layer
    // below loses its deadline (before, one such request held the audit, every later audit of that
    // holder, which joins it, and the node's stop, for ever).
    const boundMs = this.o.requestBoundMs ?? 3 * this.o.client.timeoutMs
    const bound = AbortSignal.any([this.abort.signal, AbortSignal.timeout(boundMs)])
    try {
      const answer = await settleBy(request(bound), bound)
      this.timeouts.delete(key)
      return answer
    } catch (err) {
      if (this.abort.signal.aborted) throw err
      if (bound.aborted && !(err instanceof VaultError)) {
        this.log.warn({ peer: shortId(peer), op, boundMs }, 'an audit request did not settle within its bound: abandoned, no verdict on the holder')
        return undefined
      }
      const code = err instanceof VaultError ? err.code : 'PEER_ERROR'
      if (code !== 'TIMEOUT') {
        this.log.debug({ peer: shortId(peer), code, err: (err as Error).message }, 'audit request failed')
        return undefined
      }
      const count = (this.timeouts.get(key) ?? 0) + 1
      this.timeouts.set(key, count)
      if (count >= (this.o.timeoutsBeforeDrop ?? 3)) {
        this.timeouts.delete(key)
        this.fault(peer, ids, 'timeout')
      }
      return undefined
    }
  }
}

/** Up to `size` blob IDs: copies that failed before come first, the rest by reservoir sampling. */
class Sample {
  private readonly size: number
  private readonly preferred: Set<string>
  private readonly first: string[] = []
  private readonly reservoir: string[] = []
  private seen = 0

  constructor (size: number, preferred: Set<string> | undefined) {
    this.size = size
    this.preferred = preferred ?? new Set()
  }

  offer (id: string): void {
    if (this.preferred.has(id)) { this.first.push(id); return }
    this.seen++
    if (this.reservoir.length < this.size) { this.reservoir.push(id); return }
    const slot = Math.floor(Math.random() * this.seen)
    if (slot < this.size) this.reservoir[slot] = id
  }

  /** Candidates in order of preference (more than `size`: some may be skipped for the budget). */
  picked (): string[] {
    return [...this.first, ...this.reservoir]
  }
}
