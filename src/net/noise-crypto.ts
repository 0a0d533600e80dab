// The ChaCha20-Poly1305 behind Noise, given to @chainsafe/libp2p-noise through its `crypto`
// option (no fork), with fewer buffers per byte than its default:
// - sending: node:crypto (OpenSSL), with the session key imported once as a KeyObject instead of
//   on every 64 KiB frame, and the ciphertext and tag returned as a list rather than concatenated
//   into a third buffer;
// - receiving: libsodium (sodium-native) decrypts in place, into the `dst` Noise hands over (a
//   view of the received frame itself, or the one copy Noise makes when a frame spans two socket
//   reads). The default decrypts into a fresh buffer and leaves that copy unused.
// Everything else (X25519, SHA-256, HKDF) is the package's default.
import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto'
import { createRequire } from 'node:module'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'

type NoiseCrypto = typeof defaultCrypto

interface SodiumAead {
  crypto_aead_chacha20poly1305_ietf_decrypt_detached: (m: Uint8Array, nsec: null, c: Uint8Array, mac: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array) => void
}
// sodium-native ships no types; its JS wrapper checks every size before the native call.
const sodium = createRequire(import.meta.url)('sodium-native') as SodiumAead

const TAG_BYTES = 16
const ALGORITHM = 'chacha20-poly1305'

/** A session key, imported once: Noise keeps the same key object for a session's whole life. */
const importedKeys = new WeakMap<Uint8Array, KeyObject>()

function keyObject (k: Uint8Array): KeyObject {
  let key = importedKeys.get(k)
  if (key === undefined) {
    key = createSecretKey(k)
    importedKeys.set(k, key)
  }
  return key
}

/**
 * Ciphertext buffers this module made and handed to Noise, which passes them down to the private
 * network's connection and keeps no reference: that layer may XOR them in place and free them once
 * written (private-network.ts) instead of XORing into a new buffer.
 */
const fresh = new WeakSet<Uint8Array>()

/** True for a buffer `encrypt` returned (nobody but the connection below Noise holds it). */
export function isFreshCiphertext (piece: Uint8Array): boolean {
  return fresh.has(piece)
}

function encrypt (plaintext: Uint8Array | Uint8ArrayList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): Uint8ArrayList {
  const cipher = createCipheriv(ALGORITHM, keyObject(k), nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength })
  const output = new Uint8ArrayList()
  for (const piece of plaintext instanceof Uint8Array ? [plaintext] : plaintext) {
    if (piece.byteLength === 0) continue
    const encrypted = cipher.update(piece)
    fresh.add(encrypted)
    output.append(encrypted)
  }
  const final = cipher.final()
  if (final.byteLength > 0) output.append(final)
  output.append(cipher.getAuthTag())
  return output
}

/** The ciphertext's body (all but the tag) in `into`, unless it is there already. */
function placeBody (ciphertext: Uint8Array | Uint8ArrayList, into: Uint8Array): void {
  if (ciphertext instanceof Uint8Array) {
    if (ciphertext.buffer === into.buffer && ciphertext.byteOffset === into.byteOffset) return
    into.set(ciphertext.subarray(0, into.byteLength))
    return
  }
  let at = 0
  for (const piece of ciphertext) {
    if (at >= into.byteLength) break
    const part = piece.subarray(0, into.byteLength - at)
    if (!(part.buffer === into.buffer && part.byteOffset === into.byteOffset + at)) into.set(part, at)
    at += part.byteLength
  }
}

function decrypt (ciphertext: Uint8Array | Uint8ArrayList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array, dst?: Uint8Array): Uint8Array {
  const bodyBytes = ciphertext.byteLength - TAG_BYTES
  if (bodyBytes < 0) throw new Error('Invalid chacha20poly1305 decryption')
  const tag = ciphertext.subarray(bodyBytes)
  const plaintext = dst?.byteLength === bodyBytes ? dst : new Uint8Array(bodyBytes)
  placeBody(ciphertext, plaintext)
  try {
    sodium.crypto_aead_chacha20poly1305_ietf_decrypt_detached(plaintext, null, plaintext, tag, ad.byteLength > 0 ? ad : null, nonce, k)
  } catch {
    throw new Error('Invalid chacha20poly1305 decryption')
  }
  return plaintext
}

/** The `crypto` option of `noise()`. */
export const noiseCrypto: NoiseCrypto = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt: encrypt,
  chaCha20Poly1305Decrypt: decrypt
}
