// Scrub and heal: verifies every blob on this node's disk (in the background every --scrub-every
// seconds, at a capped rate, or now on demand). A bad copy of this node's own blob is fetched again
// from a holder; a bad copy held for another owner is deleted and reported to that owner, which
// then drops the record and re-replicates.
import type { Logger } from 'pino'
import { verifyBlobs, type BlobStore } from '../store/index.ts'
import type { BlockClient } from './block-client.ts'
import { shortId } from './block-protocol.ts'
import { nodeIdsOf, type Routing } from '../net/index.ts'

export interface ScrubberOptions {
  store: BlobStore
  ownerId: string
  client: BlockClient
  /** Fetches a verified copy of one of this node's own blobs from the holders. */
  fetchOwn: (id: string, signal: AbortSignal) => Promise<Uint8Array>
  /** The peers reachable now (a lost copy is reported to its owner only when it is one). */
  routing: Routing
  log: Logger
  /** Background scrub period; 0 turns it off. */
  everyMs: number
  /** Read-rate cap of the background scrub (the on-demand one runs at full speed). */
  bytesPerSecond?: number
  /** Start, progress (at most every `progressEveryMs`) and end of every pass, timed or asked for. */
  onJob?: (progress: ScrubJobProgress) => void
  progressEveryMs?: number
}

export interface ScrubProgress { checked: number, bytes: number, bad: number }
export interface ScrubResult extends ScrubProgress { repaired: number, reported: number, failed: number }
/** One pass as the node's activity shows it: who started it, how far, how it ended. */
export interface ScrubJobProgress extends ScrubProgress, Partial<Omit<ScrubResult, keyof ScrubProgress>> {
  phase: 'started' | 'checking' | 'done' | 'failed'
  trigger: 'request' | 'timer'
  error?: string
}
/** What `status` shows of the last scrub. */
export interface ScrubSummary { at: string, checked: number, bad: number, repaired: number }

export class Scrubber {
  private readonly o: ScrubberOptions
  private readonly log: Logger
  private readonly abort = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> = Promise.resolve()
  private lastRun: ScrubSummary | null = null
  private badTotal = 0

  constructor (options: ScrubberOptions) {
    this.o = options
    this.log = options.log.child({ sub: 'scrub' })
  }

  start (): void {
    if (this.o.everyMs <= 0) return
    this.timer = setInterval(() => {
      this.run({ bytesPerSecond: this.o.bytesPerSecond ?? 4 * 1024 * 1024, trigger: 'timer' }).catch((err: unknown) => {
        if (!this.abort.signal.aborted) this.log.warn({ err }, 'background scrub failed')
      })
    }, this.o.everyMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.abort.abort(new Error('the node is stopping'))
    await this.running.catch(() => {})
  }

  last (): ScrubSummary | null {
    return this.lastRun
  }

  /** Bad copies found since start (own and held). */
  badFound (): number {
    return this.badTotal
  }

  /** One full pass; passes never overlap (a request during one runs after it). */
  async run (options: { bytesPerSecond?: number, onProgress?: (progress: ScrubProgress) => void, trigger?: 'request' | 'timer' } = {}): Promise<ScrubResult> {
    const trigger = options.trigger ?? 'request'
    const next = this.running.catch(() => {}).then(async () => await this.published(trigger, async (result, tick) =>
      await this.pass(result, options.bytesPerSecond ?? 0, (progress) => { tick(); options.onProgress?.(progress) })))
    this.running = next
    return await next
  }

  /** Runs one pass and tells `onJob` it started, how far it is (throttled) and how it ended. */
  private async published (trigger: ScrubJobProgress['trigger'], pass: (result: ScrubResult, tick: () => void) => Promise<ScrubResult>): Promise<ScrubResult> {
    const result: ScrubResult = { checked: 0, bytes: 0, bad: 0, repaired: 0, reported: 0, failed: 0 }
    const every = this.o.progressEveryMs ?? 250
    let lastAt = Date.now()
    const publish = (phase: ScrubJobProgress['phase'], more: Partial<ScrubJobProgress> = {}): void => {
      const { checked, bytes, bad } = result
      this.o.onJob?.({ phase, trigger, checked, bytes, bad, ...more })
    }
    publish('started')
    try {
      await pass(result, () => {
        if (Date.now() - lastAt < every) return
        lastAt = Date.now()
        publish('checking')
      })
    } catch (err) {
      publish('failed', { error: (err as Error).message })
      throw err
    }
    publish('done', { ...result })
    return result
  }

  private async pass (result: ScrubResult, bytesPerSecond: number, onProgress: (progress: ScrubProgress) => void): Promise<ScrubResult> {
    const signal = this.abort.signal
    const lostByOwner = new Map<string, string[]>()
    for await (const blob of verifyBlobs(this.o.store, { bytesPerSecond, signal })) {
      result.checked++
      result.bytes += blob.bytes
      if (!blob.intact) {
        result.bad++
        this.badTotal++
        if (blob.owner === this.o.ownerId) {
          if (await this.refetch(blob.id, signal)) result.repaired++
          else result.failed++
        } else {
          // Never keep or serve bad bytes for someone else; its owner makes a new copy.
          await this.o.store.delete(blob.owner, blob.id)
          lostByOwner.set(blob.owner, [...(lostByOwner.get(blob.owner) ?? []), blob.id])
        }
      }
      onProgress({ checked: result.checked, bytes: result.bytes, bad: result.bad })
    }
    for (const [owner, ids] of lostByOwner) {
      if (await this.report(owner, ids, signal)) result.reported += ids.length
    }
    this.lastRun = { at: new Date().toISOString(), checked: result.checked, bad: result.bad, repaired: result.repaired }
    this.log[result.bad > 0 ? 'warn' : 'info'](result, 'scrub finished')
    return result
  }

  /** Replaces a damaged copy of our own blob with a verified one from a holder. */
  private async refetch (id: string, signal: AbortSignal): Promise<boolean> {
    try {
      const bytes = await this.o.fetchOwn(id, signal)
      await this.o.store.put(this.o.ownerId, id, bytes) // verified again, rewrites the damaged file
      return true
    } catch (err) {
      if (signal.aborted) throw err
      this.log.warn({ id: id.slice(0, 12), err: (err as Error).message }, 'a damaged blob of our own could not be fetched from any holder')
      return false
    }
  }

  /**
   * Tells the owner its copies here are gone. If it is away, its next audit of this node finds them
   * missing anyway (HAS), so nothing is queued.
   */
  private async report (owner: string, ids: string[], signal: AbortSignal): Promise<boolean> {
    if (!nodeIdsOf(this.o.routing.allPeers()).includes(owner)) return false
    try {
      await this.o.client.reportLost(owner, ids, signal)
      return true
    } catch (err) {
      if (signal.aborted) throw err
      this.log.debug({ owner: shortId(owner), err: (err as Error).message }, 'could not report lost copies; the owner\'s audit will find them')
      return false
    }
  }
}
