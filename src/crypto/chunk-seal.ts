// Convergent sealing of chunks within one owner: the key and nonce come from the owner's vault
// key and the chunk's plaintext hash, so identical content seals to identical ciphertext (dedup),
// while two owners' ciphertexts of the same content share nothing. A key encrypts exactly one
// plaintext, so the derived (fixed) nonce never repeats under a key with different data.
//
// The hashing and AES-256-GCM run through WebCrypto (node:crypto's `webcrypto.subtle`): the same
// OpenSSL primitives as createCipheriv, but as jobs on libuv's thread pool, so sealing several
// chunks at once uses every core while the main thread keeps chunking and serving.
import { webcrypto } from 'node:crypto'
import { deriveKey } from './hashes.ts'
import { NONCE_BYTES } from './aead.ts'
import { VaultError } from '../errors.ts'

const subtle = webcrypto.subtle
/** Chunk blobs start with this format byte; it is authenticated as AAD. */
const CHUNK_FORMAT = new Uint8Array([1])
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

export async function sha256HexAsync (data: Uint8Array): Promise<string> {
  return Buffer.from(await subtle.digest('SHA-256', data)).toString('hex')
}

export async function sealChunk (vaultKey: Uint8Array, plaintext: Uint8Array): Promise<SealedChunk> {
  const plainHash = new Uint8Array(await subtle.digest('SHA-256', plaintext))
  const material = deriveKey(vaultKey, plainHash, 'distri-vault/chunk/v1', 32 + NONCE_BYTES)
  const key = material.subarray(0, 32)
  const nonce = material.subarray(32)
  const cryptoKey = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt'])
  const body = await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: CHUNK_FORMAT, tagLength: 128 }, cryptoKey, plaintext)
  const sealed = Buffer.allocUnsafe(HEADER_BYTES + body.byteLength)
  sealed.set(CHUNK_FORMAT, 0)
  sealed.set(nonce, 1)
  sealed.set(new Uint8Array(body), HEADER_BYTES)
  return { id: await sha256HexAsync(sealed), key: key.toString('hex'), sealed, size: plaintext.length }
}

/**
 * Verifies the blob against its ID, then authenticates and decrypts it; nothing is returned
 * unverified. `hashVerified`: the caller got the bytes from a reader that already checked the ID
 * (BlobStore.get, BlockClient.getBlob), so the second SHA-256 pass is skipped; the tag still is not.
 */
export async function openChunk (id: string, keyHex: string, sealed: Uint8Array, options: { hashVerified?: boolean } = {}): Promise<Buffer> {
  if (options.hashVerified !== true && await sha256HexAsync(sealed) !== id) throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… does not match its hash`)
  if (sealed[0] !== CHUNK_FORMAT[0]) throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… has an unknown format`)
  if (sealed.length < HEADER_BYTES + 16) throw new VaultError('CORRUPT', `chunk ${id.slice(0, 12)}… is truncated`)
  const key = Buffer.from(keyHex, 'hex')
  if (key.length !== 32) throw new VaultError('CORRUPT', 'chunk key must be 32 bytes')
  try {
    const cryptoKey = await subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt'])
    const plain = await subtle.decrypt({ name: 'AES-GCM', iv: sealed.subarray(1, HEADER_BYTES), additionalData: CHUNK_FORMAT, tagLength: 128 }, cryptoKey, sealed.subarray(HEADER_BYTES))
    return Buffer.from(plain)
  } catch (err) {
    throw new VaultError('CORRUPT', 'authentication failed: wrong key or tampered data', { cause: err })
  }
}
