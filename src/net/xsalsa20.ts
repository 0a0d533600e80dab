// The private network's keystream: XSalsa20 (key, 24-byte nonce) from libsodium through
// `sodium-native` (prebuilt N-API binaries in the npm package: nothing compiles at install).
// Streaming: each update continues the keystream where the last one stopped, at any byte offset
// (libsodium's wrapper keeps the unused tail of the last 64-byte block), so a connection's bytes
// can be XORed as they arrive, in whatever pieces TCP delivers them.
import { createRequire } from 'node:module'

interface SodiumStream {
  crypto_stream_xor_STATEBYTES: number
  crypto_stream_xor_init: (state: Uint8Array, nonce: Uint8Array, key: Uint8Array) => void
  crypto_stream_xor_update: (state: Uint8Array, output: Uint8Array, input: Uint8Array) => void
  crypto_stream_xor_final: (state: Uint8Array) => void
}

// sodium-native ships no types; these are the four names used here. They are the binding's own
// functions: sodium-native 5.1's JS wrappers of the same calls (`crypto_stream_xor_wrap_*`) check
// the state's size against a constant the binding does not export, so they always throw. The
// binding asserts sizes natively (a failed assert aborts the process), so every size is checked
// here first.
const sodium = createRequire(import.meta.url)('sodium-native') as SodiumStream

export const XSALSA20_NONCE_BYTES = 24
export const XSALSA20_KEY_BYTES = 32

/** One direction of a connection: a keystream position that only moves forward. */
export class XSalsa20Stream {
  private readonly state = new Uint8Array(sodium.crypto_stream_xor_STATEBYTES)
  private finished = false

  constructor (key: Uint8Array, nonce: Uint8Array) {
    if (key.byteLength !== XSALSA20_KEY_BYTES) throw new Error(`an XSalsa20 key has ${XSALSA20_KEY_BYTES} bytes`)
    if (nonce.byteLength !== XSALSA20_NONCE_BYTES) throw new Error(`an XSalsa20 nonce has ${XSALSA20_NONCE_BYTES} bytes`)
    sodium.crypto_stream_xor_init(this.state, nonce, key)
  }

  /** XORs `input` with the next input.byteLength keystream bytes into `output` (may be `input`
   * itself: libsodium XORs in place). */
  xor (input: Uint8Array, output: Uint8Array = input): void {
    if (this.finished) throw new Error('this keystream was finished')
    if (output.byteLength !== input.byteLength) throw new Error('the output must have the input\'s length')
    if (input.byteLength === 0) return
    sodium.crypto_stream_xor_update(this.state, output, input)
  }

  /** Wipes the key and the keystream state; further use throws. */
  finish (): void {
    if (this.finished) return
    this.finished = true
    sodium.crypto_stream_xor_final(this.state)
  }
}
