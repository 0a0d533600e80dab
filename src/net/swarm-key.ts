// The private-network key: a standard libp2p/IPFS swarm key file
// ("/key/swarm/psk/1.0.0/", "/base16/", 64 hex digits). Only nodes holding it can connect.

import { generateKey } from '@libp2p/pnet'
import { VaultError } from '../errors.ts'

const SWARM_KEY_BYTES = 95

export function generateNetworkKey (): Uint8Array {
  const bytes = new Uint8Array(SWARM_KEY_BYTES)
  generateKey(bytes)
  return bytes
}

/** Validates the bytes of a swarm key file and returns them normalised (LF line ends, no trailing blank). */
export function parseNetworkKey (bytes: Uint8Array): Uint8Array {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new VaultError('BAD_INPUT', 'network key file is not text')
  }
  const lines = text.split(/\r\n|\r|\n/).map(line => line.trim())
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines.length !== 3) {
    throw new VaultError('BAD_INPUT', `network key file must have 3 lines (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits), found ${lines.length}`)
  }
  const [tag, codec, hex] = lines
  if (tag !== '/key/swarm/psk/1.0.0/') throw new VaultError('BAD_INPUT', `network key file must start with /key/swarm/psk/1.0.0/, found ${JSON.stringify(tag.slice(0, 40))}`)
  if (codec !== '/base16/') throw new VaultError('BAD_INPUT', `network key encoding must be /base16/, found ${JSON.stringify(codec.slice(0, 40))}`)
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new VaultError('BAD_INPUT', 'network key must be exactly 64 hex digits (32 bytes)')
  return new TextEncoder().encode(`${tag}\n${codec}\n${hex.toLowerCase()}`)
}

/** The 32-byte secret inside a swarm key file. */
export function networkKeySecret (bytes: Uint8Array): Uint8Array {
  const hex = new TextDecoder().decode(parseNetworkKey(bytes)).split('\n')[2]
  return new Uint8Array(Buffer.from(hex, 'hex'))
}
