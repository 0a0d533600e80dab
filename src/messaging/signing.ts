// Signatures of messages and announcements. The signed bytes are a canonical JSON array that starts
// with a domain tag, so a message signature can never pass for an announcement's (or for anything
// else the node key signs). The signer's public key comes from its node ID (an Ed25519 peer ID),
// so a valid signature also proves `from`.

import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'

const MESSAGE_DOMAIN = 'distri-vault/msg/1'
const ANNOUNCE_DOMAIN = 'distri-vault/announce/1'

export interface UnsignedMessage { id: string, from: string, to: string, text: string, at: string }
export interface UnsignedAnnouncement { id: string, from: string, kind: string, data: Record<string, unknown>, at: string }

const utf8 = new TextEncoder()

export function messageSigningBytes (m: UnsignedMessage): Uint8Array {
  return utf8.encode(JSON.stringify([MESSAGE_DOMAIN, m.id, m.from, m.to, m.text, m.at]))
}

export function announcementSigningBytes (a: UnsignedAnnouncement): Uint8Array {
  return utf8.encode(JSON.stringify([ANNOUNCE_DOMAIN, a.id, a.from, a.kind, a.at, canonicalJson(a.data)]))
}

/** JSON with object keys sorted at every depth: the same value always gives the same bytes. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}

export async function signBytes (privateKey: PrivateKey, bytes: Uint8Array): Promise<string> {
  return Buffer.from(await privateKey.sign(bytes)).toString('base64')
}

/** True only if `signature` is `from`'s Ed25519 signature of `bytes`. */
export async function verifySignature (from: string, bytes: Uint8Array, signature: string): Promise<boolean> {
  try {
    const peerId = peerIdFromString(from)
    if (peerId.type !== 'Ed25519') return false
    const sig = Buffer.from(signature, 'base64')
    if (sig.byteLength !== 64) return false
    return await peerId.publicKey.verify(bytes, sig)
  } catch {
    return false
  }
}
