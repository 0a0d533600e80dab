// The authority behind a chained copy: the owner's signed grant (who may write which blob into its
// folder, through which holders, until when) and each holder's signed receipt (this copy is
// durable). Both are signed with the node key over a domain-tagged canonical array, so neither can
// pass for the other or for a message. A holder remembers every grant nonce it accepted until the
// grant expires, so a grant works once per holder.
import { randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { VaultError } from '../errors.ts'
import { signBytes, verifySignature } from '../messaging/index.ts'
import { GRANT_CLOCK_SKEW_MS, GRANT_TTL_MS, type ChainRequest, type Grant } from './chain-protocol.ts'

const GRANT_DOMAIN = 'distri-vault/chain-grant/1'
const RECEIPT_DOMAIN = 'distri-vault/chain-receipt/1'
const utf8 = new TextEncoder()

function grantBytes (g: Grant): Uint8Array {
  return utf8.encode(JSON.stringify([GRANT_DOMAIN, g.owner, g.id, g.size, g.holders, g.expiresAt, g.nonce]))
}

function receiptBytes (g: Grant, holder: string): Uint8Array {
  return utf8.encode(JSON.stringify([RECEIPT_DOMAIN, g.owner, g.id, g.nonce, holder]))
}

/** A fresh grant for one blob through `holders`, valid for GRANT_TTL_MS from `now`. */
export function newGrant (owner: string, id: string, size: number, holders: string[], now = Date.now()): Grant {
  return { owner, id, size, holders, expiresAt: now + GRANT_TTL_MS, nonce: randomBytes(16).toString('hex') }
}

export async function signGrant (ownerKey: PrivateKey, grant: Grant): Promise<string> {
  return await signBytes(ownerKey, grantBytes(grant))
}

export async function signReceipt (holderKey: PrivateKey, grant: Grant, holder: string): Promise<string> {
  return await signBytes(holderKey, receiptBytes(grant, holder))
}

export async function verifyReceipt (grant: Grant, holder: string, sig: string): Promise<boolean> {
  return await verifySignature(holder, receiptBytes(grant, holder), sig)
}

/**
 * Refuses a chain request this holder (`self`) must not act on: GRANT_INVALID when the grant does
 * not name `self` at `hop`, came from a node that is neither the owner nor an earlier holder of the
 * chain, or is not the owner's signature; GRANT_EXPIRED past its expiry (or absurdly far ahead),
 * with GRANT_CLOCK_SKEW_MS of tolerance either way. The replay check is the caller's, after this.
 */
export async function checkGrant (request: ChainRequest, self: string, remote: string, now = Date.now()): Promise<void> {
  const { grant, hop } = request
  if (grant.holders[hop] !== self) throw new VaultError('GRANT_INVALID', 'the grant does not name this holder at this place in the chain')
  const upstream = remote === grant.owner || grant.holders.slice(0, hop).includes(remote)
  if (!upstream) throw new VaultError('GRANT_INVALID', 'the grant does not let this sender hand the blob on')
  if (now > grant.expiresAt + GRANT_CLOCK_SKEW_MS) throw new VaultError('GRANT_EXPIRED', 'the grant has expired')
  if (grant.expiresAt > now + GRANT_TTL_MS + GRANT_CLOCK_SKEW_MS) throw new VaultError('GRANT_EXPIRED', 'the grant expires further ahead than any grant may')
  if (!await verifySignature(grant.owner, grantBytes(grant), request.sig)) throw new VaultError('GRANT_INVALID', 'the grant is not signed by its owner')
}

/**
 * Grant nonces this holder accepted, kept until their grant expires (plus the skew): a second use
 * is a replay. Bounded: when `maxEntries` unexpired nonces are held, new grants are refused (BUSY)
 * rather than forgetting one that could then be replayed.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>()
  private readonly maxEntries: number

  constructor (maxEntries = 65_536) {
    this.maxEntries = maxEntries
  }

  /** Records `grant`'s nonce, or throws GRANT_REPLAYED if it was seen before. */
  admit (grant: Grant, now = Date.now()): void {
    const key = `${grant.owner}/${grant.nonce}`
    if (this.seen.has(key)) throw new VaultError('GRANT_REPLAYED', 'this grant was used before')
    this.forgetExpired(now, this.seen.size >= this.maxEntries)
    if (this.seen.size >= this.maxEntries) throw new VaultError('BUSY', 'holder is busy: too many chained copies in the last minute; try again later')
    this.seen.set(key, grant.expiresAt + GRANT_CLOCK_SKEW_MS)
  }

  get size (): number {
    return this.seen.size
  }

  /** Nonces arrive in about the order they expire: drop from the oldest until one is still live
   * (`all`: look at every entry, when the cache is full). */
  private forgetExpired (now: number, all: boolean): void {
    for (const [key, until] of this.seen) {
      if (until < now) this.seen.delete(key)
      else if (!all) return
    }
  }
}
