// Convergent sealing of chunks within one owner: the key and nonce come from the owner's vault
// key and the chunk's plaintext hash, so identical content seals to identical ciphertext (dedup),
// while two owners' ciphertexts of the same content share nothing. A key encrypts exactly one
// plaintext, so the derived (fixed) nonce never repeats under a key with different data.
import { deriveKey, sha256, sha256Hex } from './hashes.ts'
import { NONCE_BYTES, open, seal } from './aead.ts'
import { VaultError } from '../errors.ts'

/** Chunk blobs start with this format byte; it is authenticated as AAD. */
const CHUNK_FORMAT = Buffer.from([1])

export interface SealedChunk {
  /** SHA-256 of the sealed bytes, hex: any holder can verify integrity without keys. */
  id: string
  /** The chunk's own key (hex), recorded in the manifest so a capability can open it. */
  key: string
  sealed: Buffer
  size: number
}

export function sealChunk (vaultKey: Uint8Array, plaintext: Uint8Array): SealedChunk {
  const material = deriveKey(vaultKey, sha256(plaintext), 'distri-vault/chunk/v1', 32 + NONCE_BYTES)
  const key = material.subarray(0, 32)
  const nonce = material.subarray(32)
  const body = seal(key, plaintext, CHUNK_FORMAT, nonce)
  const sealed = Buffer.concat([CHUNK_FORMAT, body])
  return { id: sha256Hex(sealed), key: key.toString('hex'), sealed, size: plaintext.length }
}

/** Verifies the blob against its ID, then authenticates and decrypts it. */
export function openChunk (id: string, keyHex: string, sealed: Uint8Array): Buffer {
  if (sha256Hex(sealed) !== id) throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… does not match its hash`)
  if (sealed[0] !== CHUNK_FORMAT[0]) throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… has an unknown format`)
  return open(Buffer.from(keyHex, 'hex'), sealed.subarray(1), CHUNK_FORMAT)
}
