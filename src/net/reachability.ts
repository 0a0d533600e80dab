// Weighing the answers of reachability checks (dial-back.ts) into a verdict. One dial back that
// succeeded is proof (the Noise handshake reached this node). A failed one is only a hint: on a
// starved machine a handshake can outlast any deadline, and a node that concluded "unreachable"
// from one slow answer turned DHT client behind a relay it did not need (and dropped out of every
// lookup, so placement skipped it). So "unreachable" takes several failures since the last
// success, from different peers when there are any; until then the verdict stays what it was
// ('unknown', or 'public' once proven), and the caller checks again soon.

export type DialBackVerdict = 'public' | 'unreachable' | 'unknown'

/** One peer's answer to one check: true (it dialled us), false (it tried and failed), undefined (no answer). */
export interface DialBackAnswer {
  peer: string
  reachable: boolean | undefined
}

export interface ReachabilityJudgeOptions {
  /** Failed dial backs, since the last success, before the node is judged unreachable. */
  failuresNeeded?: number
  /** …from at least this many distinct peers (fewer when the node has fewer peers to ask). */
  distinctPeersNeeded?: number
}

export class ReachabilityJudge {
  private readonly failuresNeeded: number
  private readonly distinctPeersNeeded: number
  /** The peers whose dial back failed since the last success, one entry per answer. */
  private failures: string[] = []
  /** Checks with a failure since the last success. */
  private failedChecks = 0
  verdict: DialBackVerdict = 'unknown'

  constructor (options: ReachabilityJudgeOptions = {}) {
    this.failuresNeeded = options.failuresNeeded ?? 3
    this.distinctPeersNeeded = options.distinctPeersNeeded ?? 2
  }

  /** Weighs one check's answers; `peersAvailable` is how many distinct peers could have been asked. */
  record (answers: DialBackAnswer[], peersAvailable: number): DialBackVerdict {
    if (answers.some(a => a.reachable === true)) {
      this.failures = []
      this.failedChecks = 0
      this.verdict = 'public'
      return this.verdict
    }
    const failed = answers.filter(a => a.reachable === false)
    if (failed.length === 0) return this.verdict
    this.failures.push(...failed.map(a => a.peer))
    this.failedChecks++
    // Bounded: only the most recent failures matter.
    if (this.failures.length > 4 * this.failuresNeeded) this.failures = this.failures.slice(-4 * this.failuresNeeded)
    const distinct = new Set(this.failures).size
    const enough = this.failures.length >= this.failuresNeeded && distinct >= Math.min(this.distinctPeersNeeded, Math.max(1, peersAvailable))
    // A node once proven reachable needs the failures of two checks at least (its router changed,
    // not one bad moment).
    if (enough && (this.verdict !== 'public' || this.failedChecks >= 2)) this.verdict = 'unreachable'
    return this.verdict
  }

  /** Failures weighed since the last success (the evidence so far for "unreachable"). */
  get pendingFailures (): number {
    return this.failures.length
  }

  /** The peers that failed to dial us back since the last success: asked last next time. */
  failedPeers (): Set<string> {
    return new Set(this.failures)
  }
}
