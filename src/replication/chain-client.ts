// Sends one chain/1 request (a grant and its blob) to the next holder of a chain and reads back the
// receipts of everything downstream: used by the owner for the first hop and by each holder to hand
// the blob on. Knows whether a peer speaks chain/1 from what identify told the peer store.
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { VaultError } from '../errors.ts'
import { exchange } from '../protocols/index.ts'
import { fromErrorReply, isErrorReply, MAX_BLOB_BYTES, MAX_JSON_FRAME_BYTES, shortId } from './block-protocol.ts'
import { CHAIN_PROTOCOL, chainReplySchema, type ChainFailure, type ChainReceipt, type ChainRequest } from './chain-protocol.ts'

export interface ChainAnswer { receipts: ChainReceipt[], failures: ChainFailure[] }

export class ChainClient {
  private readonly libp2p: Libp2p

  constructor (libp2p: Libp2p) {
    this.libp2p = libp2p
  }

  /** True when identify says `peer` speaks chain/1 (older nodes get direct copies instead). */
  async speaksChain (peer: string): Promise<boolean> {
    try {
      return (await this.libp2p.peerStore.get(peerIdFromString(peer))).protocols.includes(CHAIN_PROTOCOL)
    } catch {
      return false
    }
  }

  /**
   * Hands `bytes` (whole, or the pieces a holder received it in) to `peer`, the holder at `request.hop`, and waits up to `waitMs` (more than
   * `request.budgetMs`: see passOnBudget) for its answer. Throws the holder's refusal (GRANT_*,
   * STORAGE_FULL, CORRUPT, BUSY…) or TIMEOUT / UNREACHABLE / PEER_ERROR.
   */
  async send (peer: string, request: ChainRequest, bytes: Uint8Array | readonly Uint8Array[], waitMs: number, signal?: AbortSignal): Promise<ChainAnswer> {
    return await exchange(async (timeout) => await this.libp2p.dialProtocol(peerIdFromString(peer), CHAIN_PROTOCOL, { signal: timeout }), async (frames, timeout) => {
      await frames.writeJson(request, { signal: timeout })
      await frames.writeFrame(bytes, { signal: timeout })
      const reply = await frames.readFrame({ signal: timeout, maxBytes: MAX_JSON_FRAME_BYTES })
      if (reply == null) throw new VaultError('TRUNCATED', `peer ${shortId(peer)} closed the chain stream without answering`)
      const answer = frames.decodeJson(chainReplySchema, reply)
      if (isErrorReply(answer)) throw fromErrorReply(answer, peer)
      return { receipts: answer.receipts, failures: answer.failures }
    }, {
      maxFrameBytes: MAX_BLOB_BYTES,
      timeoutMs: waitMs,
      signal,
      fault: (err, phase, timeout) => {
        if (signal?.aborted === true) return signal.reason
        if (timeout.aborted) return new VaultError('TIMEOUT', `peer ${shortId(peer)} did not answer the chain within ${waitMs} ms`, { cause: err })
        if (err instanceof VaultError) return err
        const code = phase === 'open' ? 'UNREACHABLE' : 'PEER_ERROR'
        return new VaultError(code, `peer ${shortId(peer)}: ${(err as Error).message}`, { cause: err })
      }
    })
  }
}
