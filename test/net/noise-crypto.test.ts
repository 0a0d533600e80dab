// Our Noise cipher (libsodium: one sealed buffer per frame to send, in place to receive) is the standard
// ChaCha20-Poly1305: what it seals the package's default opens and the other way round, whatever
// the frame's pieces, and a changed byte is refused.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { isFreshCiphertext, noiseCrypto } from '../../src/net/noise-crypto.ts'

const bytes = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max })

/** `data` cut at `cuts` into a list of pieces, as a frame spanning socket reads arrives. */
function asList (data: Uint8Array, cuts: number[]): Uint8ArrayList {
  const points = [...new Set([0, ...cuts.map(c => c % (data.byteLength + 1)), data.byteLength])].sort((a, b) => a - b)
  return new Uint8ArrayList(...points.slice(1).map((end, i) => data.slice(points[i], end)))
}

test('frames sealed by ours open with the default and the other way round, in pieces or whole', () => {
  fc.assert(fc.property(bytes(32, 32), bytes(12, 12), bytes(0, 40), bytes(0, 70_000), fc.array(fc.nat(), { maxLength: 6 }), fc.boolean(),
    (k, nonce, ad, plaintext, cuts, withDst) => {
      const ours = noiseCrypto.chaCha20Poly1305Encrypt(asList(plaintext, cuts), nonce, ad, k).subarray()
      const theirs = defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k).subarray()
      assert.ok(Buffer.from(ours).equals(theirs), 'our ciphertext differs')
      const received = asList(theirs, cuts)
      // Noise's transport path hands a dst: the received frame's body (a copy when it spans pieces).
      const dst = withDst ? received.subarray(0, received.byteLength - 16) : undefined
      const opened = noiseCrypto.chaCha20Poly1305Decrypt(received, nonce, ad, k, dst).subarray()
      assert.ok(Buffer.from(opened).equals(plaintext), 'our decryption differs')
    }), { numRuns: 150 })
})

test('a received frame is decrypted in place, and a changed byte or a wrong nonce is refused', () => {
  const k = new Uint8Array(32).fill(3)
  const nonce = new Uint8Array(12).fill(4)
  const plaintext = new Uint8Array(65_519).map((_, i) => i & 0xff)
  const frame = Buffer.from(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, new Uint8Array(0), k).subarray())
  const body = frame.subarray(0, frame.byteLength - 16)
  const opened = noiseCrypto.chaCha20Poly1305Decrypt(frame, nonce, new Uint8Array(0), k, body)
  assert.equal(opened, body, 'decrypted into the frame itself')
  assert.ok(Buffer.from(opened).equals(plaintext))

  const sealed = Buffer.from(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, new Uint8Array(0), k).subarray())
  const tampered = Buffer.from(sealed)
  tampered[100] ^= 1
  assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(tampered, nonce, new Uint8Array(0), k), /Invalid chacha20poly1305/)
  assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, new Uint8Array(12), new Uint8Array(0), k), /Invalid chacha20poly1305/)
  assert.throws(() => noiseCrypto.chaCha20Poly1305Decrypt(new Uint8Array(10), nonce, new Uint8Array(0), k), /Invalid chacha20poly1305/)
})

test('a frame is sealed into one new buffer the private network may XOR in place, whatever the pieces', () => {
  const k = new Uint8Array(32).fill(5)
  const nonce = new Uint8Array(12).fill(6)
  // A yamux header and its data, as Noise hands them over: two pieces, one frame.
  const header = new Uint8Array(12).fill(7)
  const data = new Uint8Array(65_507).map((_, i) => (i * 31) & 0xff)
  const sealed = noiseCrypto.chaCha20Poly1305Encrypt(new Uint8ArrayList(header, data), nonce, new Uint8Array(0), k)
  assert.ok(sealed instanceof Uint8Array, 'one buffer, not a list of ciphertext pieces and a tag')
  assert.equal(sealed.byteLength, 12 + 65_507 + 16)
  assert.ok(isFreshCiphertext(sealed), 'marked as ours: nobody else holds it')
  assert.equal(header[0], 7, 'the plaintext pieces are left as they were')
  assert.equal(data[1], 31)
  const theirs = defaultCrypto.chaCha20Poly1305Encrypt(Buffer.concat([header, data]), nonce, new Uint8Array(0), k).subarray()
  assert.ok(Buffer.from(sealed).equals(theirs), 'the standard ciphertext and tag')
  // A window update (12 bytes) too: one small buffer.
  const tiny = noiseCrypto.chaCha20Poly1305Encrypt(header, nonce, new Uint8Array(0), k)
  assert.ok(tiny instanceof Uint8Array && tiny.byteLength === 28)
})
