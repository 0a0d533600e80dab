// The proof of possession an audit asks for: HMAC-SHA256 keyed by the owner's fresh random nonce
// over the blob's sealed bytes. Only a peer that has the bytes now can answer; a stored hash won't do.
import { createHmac, randomBytes } from 'node:crypto'

export function newAuditNonce (): string {
  return randomBytes(32).toString('hex')
}

export function proofOf (nonceHex: string, blob: Uint8Array): string {
  return createHmac('sha256', Buffer.from(nonceHex, 'hex')).update(blob).digest('hex')
}
