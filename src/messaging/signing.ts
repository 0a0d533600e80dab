// Signatures of messages and announcements. The signed bytes are a canonical JSON array that starts
// with a domain tag, so a message signature can never pass for an announcement's (or for anything
// else the node key signs). The signer's public key comes from its node ID (an Ed25519 peer ID),
// so a valid signature also proves `from`.

import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
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

// libp2p's Ed25519 keys import themselves into node:crypto from JWK on every sign and verify
// (and a node ID is parsed from base58 each time): in a chained put, where every chunk has a grant
// checked and a receipt signed by each holder and each receipt checked by the owner, that was about
// a third of the signatures' CPU. Here each key is imported once; the signing is node:crypto's
// Ed25519 either way, byte for byte (test/messaging/signing.test.ts checks both against libp2p's).
const privateKeyObjects = new WeakMap<PrivateKey, KeyObject>()
/** Node ID → its public key; the oldest are dropped past the bound (peers come and go). */
const publicKeyObjects = new Map<string, KeyObject>()
const MAX_PUBLIC_KEYS = 4096

export async function signBytes (privateKey: PrivateKey, bytes: Uint8Array): Promise<string> {
  if (privateKey.type !== 'Ed25519') return Buffer.from(await privateKey.sign(bytes)).toString('base64')
  let key = privateKeyObjects.get(privateKey)
  if (key === undefined) {
    // libp2p's raw Ed25519 private key is the 32-byte seed followed by the 32-byte public key.
    const raw = Buffer.from(privateKey.raw)
    key = createPrivateKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', d: raw.subarray(0, 32).toString('base64url'), x: raw.subarray(32).toString('base64url') } })
    privateKeyObjects.set(privateKey, key)
  }
  return sign(null, bytes, key).toString('base64')
}

/** True only if `signature` is `from`'s Ed25519 signature of `bytes`. */
export async function verifySignature (from: string, bytes: Uint8Array, signature: string): Promise<boolean> {
  try {
    const sig = Buffer.from(signature, 'base64')
    if (sig.byteLength !== 64) return false
    const key = publicKeyOf(from)
    return key !== undefined && verify(null, bytes, key, sig)
  } catch {
    return false
  }
}

function publicKeyOf (from: string): KeyObject | undefined {
  const known = publicKeyObjects.get(from)
  if (known !== undefined) return known
  const peerId = peerIdFromString(from)
  if (peerId.type !== 'Ed25519') return undefined
  const key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(peerId.publicKey.raw).toString('base64url') } })
  if (publicKeyObjects.size >= MAX_PUBLIC_KEYS) publicKeyObjects.delete(publicKeyObjects.keys().next().value!)
  publicKeyObjects.set(from, key)
  return key
}
