// The chunk cipher itself, synchronous: convergent sealing of chunks within one owner. The key
// and nonce come from the owner's vault key and the chunk's plaintext hash, so identical content
// seals to identical ciphertext (dedup), while two owners' ciphertexts of the same content share
// nothing. A key encrypts exactly one plaintext, so the derived (fixed) nonce never repeats under
// a key with different data. Plain node:crypto: SHA-256, HKDF, AES-256-GCM.
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto'
import { deriveKey, sha256Hex } from './hashes.ts'
import { AuthenticationFailed, NONCE_BYTES, TAG_BYTES } from './aead.ts'
import { VaultError } from '../errors.ts'
import { release } from '../buffers/index.ts'

/** Chunk blobs start with this format byte; it is authenticated as AAD. */
const CHUNK_FORMAT = Buffer.from([1])
const HEADER_BYTES = 1 + NONCE_BYTES

export interface SealedChunk {
  /** SHA-256 of the sealed bytes, hex: any holder can verify integrity without keys. */
  id: string
  /** The chunk's own key (hex), recorded in the manifest so a capability can open it. */
  key: string
  /** [format 1][nonce 12][ciphertext][tag 16] */
  sealed: Buffer
  size: number
}

export function sealChunkSync (vaultKey: Uint8Array, plaintext: Uint8Array): SealedChunk {
  const plainHash = createHash('sha256').update(plaintext).digest()
  const material = deriveKey(vaultKey, plainHash, 'distri-vault/chunk/v1', 32 + NONCE_BYTES)
  const key = material.subarray(0, 32)
  const nonce = material.subarray(32)
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(CHUNK_FORMAT)
  const body = cipher.update(plaintext)
  cipher.final()
  const sealed = Buffer.allocUnsafe(HEADER_BYTES + body.length + TAG_BYTES)
  CHUNK_FORMAT.copy(sealed, 0)
  nonce.copy(sealed, 1)
  body.copy(sealed, HEADER_BYTES)
  cipher.getAuthTag().copy(sealed, HEADER_BYTES + body.length)
  release(body) // copied into `sealed`: free it now, not at the next full collection
  return { id: sha256Hex(sealed), key: key.toString('hex'), sealed, size: plaintext.length }
}

/**
 * Verifies the blob against its ID (unless `hashVerified`: the caller's reader already did), then
 * authenticates and decrypts it; nothing is returned unverified.
 */
export function openChunkSync (id: string, keyHex: string, sealed: Uint8Array, hashVerified = false): Buffer {
  if (!hashVerified && sha256Hex(sealed) !== id) throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… does not match its hash`)
  if (sealed[0] !== CHUNK_FORMAT[0]) throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… has an unknown format`)
  if (sealed.length < HEADER_BYTES + TAG_BYTES) throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… is truncated`)
  const key = Buffer.from(keyHex, 'hex')
  if (key.length !== 32) throw new VaultError('CORRUPT', 'chunk key must be 32 bytes')
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, HEADER_BYTES))
    decipher.setAAD(CHUNK_FORMAT)
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
    const plain = decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES))
    decipher.final()
    return plain
  } catch (err) {
    throw new AuthenticationFailed({ cause: err })
  }
}

