// AES-256-GCM sealing. Every sealed thing is [nonce 12][ciphertext][tag 16]; opening
// authenticates before a byte of plaintext is released (GCM's final() throws otherwise).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { VaultError } from '../errors.ts'

/**
 * Data that fails its tag: `CORRUPT` like any damage, but a distinct class, so a caller that knows
 * the bytes are intact (their hash matched) can tell that the key is wrong without reading the text.
 */
export class AuthenticationFailed extends VaultError {
  constructor (options?: { cause?: unknown }) {
    super('CORRUPT', 'authentication failed: wrong key or tampered data', options)
  }
}

export const NONCE_BYTES = 12
export const TAG_BYTES = 16
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES

export function seal (key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  if (aad) cipher.setAAD(aad)
  const head = cipher.update(plaintext)
  const tail = cipher.final()
  return Buffer.concat([nonce, head, tail, cipher.getAuthTag()])
}

export function open (key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new VaultError('CORRUPT', 'sealed data is too short')
  const nonce = sealed.subarray(0, NONCE_BYTES)
  const tag = sealed.subarray(sealed.length - TAG_BYTES)
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAuthTag(tag)
  if (aad) decipher.setAAD(aad)
  try {
    const head = decipher.update(body)
    const tail = decipher.final()
    return tail.length === 0 ? head : Buffer.concat([head, tail])
  } catch (err) {
    throw new AuthenticationFailed({ cause: err })
  }
}
