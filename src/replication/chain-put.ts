// The owner's side of chained replication: signs a grant for one blob through the holders it chose,
// hands the blob to the first of them once, and keeps only the copies whose holder's own signed
// receipt checks out. A copy without one (a holder down, full, slow, or a receipt that does not
// verify) is left to the caller, which sends it directly (Replicator).
import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import { VaultError } from '../errors.ts'
import { shortId } from './block-protocol.ts'
import type { ChainClient } from './chain-client.ts'
import { newGrant, signGrant, verifyReceipt } from './chain-grant.ts'
import { MAX_CHAIN_HOLDERS, MAX_HOP_BUDGET_MS, MIN_HOP_BUDGET_MS, passOnBudget, type ChainFailure } from './chain-protocol.ts'

export interface ChainSenderOptions {
  client: ChainClient
  ownerId: string
  /** The owner's node key: it signs the grants. */
  privateKey: PrivateKey
  /** Time allowed per holder of a chain (its transfer, hash and fsync); the chain gets this × its length. */
  hopTimeoutMs: number
  log: Logger
  now?: () => number
}

export interface ChainPlacement {
  /** Holders whose verified receipt says their copy is durable, in chain order. */
  durable: string[]
  /** Holders of the chain without a verified receipt, with why (the caller sends those copies itself). */
  failed: ChainFailure[]
}

export class ChainSender {
  private readonly o: ChainSenderOptions
  private readonly log: Logger
  private readonly counts = { chained: 0, fallbacks: 0, badReceipts: 0 }

  constructor (options: ChainSenderOptions) {
    this.o = options
    this.log = options.log.child({ sub: 'chain' })
  }

  /** The first holders of `ordered` (at most MAX_CHAIN_HOLDERS) that speak chain/1, in order. */
  async chainable (ordered: string[]): Promise<string[]> {
    const speaks = await Promise.all(ordered.slice(0, MAX_CHAIN_HOLDERS).map(async peer => await this.o.client.speaksChain(peer)))
    return ordered.slice(0, MAX_CHAIN_HOLDERS).filter((_, i) => speaks[i])
  }

  /** Copies made durable through chains, copies left to a direct send, receipts that did not verify. */
  stats (): { chained: number, fallbacks: number, badReceipts: number } {
    return { ...this.counts }
  }

  /** Hands `bytes` (blob `id`) to `holders[0]` under a fresh grant; resolves with the verified copies. */
  async place (id: string, bytes: Uint8Array, holders: string[], signal?: AbortSignal): Promise<ChainPlacement> {
    if (holders.length === 0 || holders.length > MAX_CHAIN_HOLDERS) throw new VaultError('BAD_INPUT', `a chain has 1 to ${MAX_CHAIN_HOLDERS} holders, got ${holders.length}`)
    const grant = newGrant(this.o.ownerId, id, bytes.byteLength, holders, (this.o.now ?? Date.now)())
    const sig = await signGrant(this.o.privateKey, grant)
    const waitMs = Math.min(MAX_HOP_BUDGET_MS, Math.max(2 * MIN_HOP_BUDGET_MS, this.o.hopTimeoutMs * holders.length))
    let answer
    try {
      answer = await this.o.client.send(holders[0], { v: 1, grant, sig, hop: 0, budgetMs: passOnBudget(waitMs) }, bytes, waitMs, signal)
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason
      const code = err instanceof VaultError ? err.code : 'PEER_ERROR'
      // CORRUPT: our bytes are not `id`, and every holder would say so.
      if (code === 'CORRUPT') throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… does not match its ID; nothing was replicated`, { cause: err })
      return this.settle(holders, [], [{ holder: holders[0], code }])
    }
    const durable: string[] = []
    for (const { holder, sig: receipt } of answer.receipts) {
      if (holders.includes(holder) && !durable.includes(holder) && await verifyReceipt(grant, holder, receipt)) durable.push(holder)
      else this.counts.badReceipts++
    }
    return this.settle(holders, durable, answer.failures)
  }

  /** Every holder without a verified receipt is failed: with its reported code, else PEER_ERROR. */
  private settle (holders: string[], durable: string[], reported: ChainFailure[]): ChainPlacement {
    const inOrder = holders.filter(h => durable.includes(h))
    const failed = holders.filter(h => !durable.includes(h)).map(holder => ({ holder, code: reported.find(f => f.holder === holder)?.code ?? 'PEER_ERROR' }))
    this.counts.chained += inOrder.length
    this.counts.fallbacks += failed.length
    if (failed.length > 0) this.log.debug({ durable: inOrder.length, failed: failed.map(f => `${shortId(f.holder)}:${f.code}`) }, 'chain broke; the owner sends those copies itself')
    return { durable: inOrder, failed }
  }
}
