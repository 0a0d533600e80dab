// The ChaCha20-Poly1305 behind Noise, given to @chainsafe/libp2p-noise through its `crypto`
// option (no fork), with fewer buffers per byte than its default:
// - sending: libsodium (sodium-native) seals each frame in place in ONE new buffer (plaintext
//   pieces copied in, ciphertext and tag written there): one allocation and one native call per
//   frame. node:crypto needed a cipher object per frame (createCipheriv: ~6 µs, 5× libsodium's
//   whole call for a 12-byte yamux window update, which a receiver sends for every data frame) and
//   a buffer per plaintext piece, the final block and the tag (docs/PERFORMANCE.md, "One stream and
//   the capped links, session 5");
// - receiving: libsodium (sodium-native) decrypts in place, into the `dst` Noise hands over (a
//   view of the received frame itself, or the one copy Noise makes when a frame spans two socket
//   reads). The default decrypts into a fresh buffer and leaves that copy unused.
// Everything else (X25519, SHA-256, HKDF) is the package's default.
import { createRequire } from 'node:module'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'

type NoiseCrypto = typeof defaultCrypto

interface SodiumAead {
  crypto_aead_chacha20poly1305_ietf_encrypt_detached: (c: Uint8Array, mac: Uint8Array, m: Uint8Array, ad: Uint8Array | null, nsec: null, npub: Uint8Array, k: Uint8Array) => number
  crypto_aead_chacha20poly1305_ietf_decrypt_detached: (m: Uint8Array, nsec: null, c: Uint8Array, mac: Uint8Array, ad: Uint8Array | null, npub: Uint8Array, k: Uint8Array) => void
}
// sodium-native ships no types; its JS wrapper checks every size before the native call.
const sodium = createRequire(import.meta.url)('sodium-native') as SodiumAead

const TAG_BYTES = 16

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

/**
 * Free bytes `encrypt` leaves in front of each sealed frame, in the same memory: room for the
 * 2-byte length prefix Noise puts before every frame, which the private network copies there so
 * that prefix and frame leave as ONE socket write (a separate 2-byte write is a syscall and a TCP
 * segment of its own: 16,000 a GB at 64 KiB frames).
 */
export const SEALED_HEADROOM_BYTES = 2

/** The sealed frame `piece` with `bytes` of the headroom in front of it, or undefined if it has none. */
export function withHeadroom (piece: Uint8Array, bytes: number): Uint8Array | undefined {
  if (!fresh.has(piece) || bytes > SEALED_HEADROOM_BYTES || piece.byteOffset < bytes) return undefined
  return new Uint8Array(piece.buffer, piece.byteOffset - bytes, piece.byteLength + bytes)
}

/** Seals `plaintext` (pieces in order) into one new buffer: ciphertext, then the 16-byte tag (and
 * SEALED_HEADROOM_BYTES free in front of it). */
function encrypt (plaintext: Uint8Array | Uint8ArrayList, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): Uint8Array {
  const bodyBytes = plaintext.byteLength
  const output = Buffer.allocUnsafe(SEALED_HEADROOM_BYTES + bodyBytes + TAG_BYTES).subarray(SEALED_HEADROOM_BYTES)
  if (plaintext instanceof Uint8Array) output.set(plaintext)
  else {
    let at = 0
    for (const piece of plaintext) { output.set(piece, at); at += piece.byteLength }
  }
  const body = output.subarray(0, bodyBytes)
  sodium.crypto_aead_chacha20poly1305_ietf_encrypt_detached(body, output.subarray(bodyBytes), body, ad.byteLength > 0 ? ad : null, null, nonce, k)
  fresh.add(output)
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
