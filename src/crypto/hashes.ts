// Hashing and key derivation: SHA-256 and HKDF-SHA256 from node:crypto, nothing home-made.
import { createHash, hkdfSync, randomBytes } from 'node:crypto'

/** SHA-256 of `data` (a string is hashed as its UTF-8 bytes). */
export function sha256 (data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest()
}

export function sha256Hex (data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** SHA-256 (hex) of the concatenation of `pieces`, without concatenating them. */
export function sha256HexOfPieces (pieces: Iterable<Uint8Array>): string {
  const hash = createHash('sha256')
  for (const piece of pieces) hash.update(piece)
  return hash.digest('hex')
}

/** HKDF-SHA256. `info` names the purpose so one secret never yields the same key twice. */
export function deriveKey (secret: Uint8Array, salt: Uint8Array | string, info: string, length = 32): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, info, length))
}

export function randomKey (bytes = 32): Buffer {
  return randomBytes(bytes)
}
