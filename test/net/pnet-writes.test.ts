// What the private network hands the socket for Noise's frames: the 2-byte length prefix and the
// sealed frame after it leave as ONE buffer (the prefix copied into the room our Noise cipher leaves
// in front of the frame), with the same bytes on the wire as XORing the whole stream in one go.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseCrypto } from '../../src/net/noise-crypto.ts'
import { xorForSending } from '../../src/net/private-network.ts'
import { XSalsa20Stream } from '../../src/net/xsalsa20.ts'

const key = new Uint8Array(32).fill(9)
const nonce = new Uint8Array(24).fill(8)

function prefix (bytes: number): Uint8Array {
  return new Uint8Array([bytes >> 8, bytes & 0xff])
}

test('a length prefix and the sealed frame after it are one buffer to write, and the bytes are the stream XORed whole', () => {
  const k = new Uint8Array(32).fill(1)
  const n = new Uint8Array(12)
  const big = noiseCrypto.chaCha20Poly1305Encrypt(new Uint8Array(65_519).fill(3), n, new Uint8Array(0), k)
  const small = noiseCrypto.chaCha20Poly1305Encrypt(new Uint8Array(29).fill(4), n, new Uint8Array(0), k)
  const pieces = [prefix(big.byteLength), big, prefix(small.byteLength), small]
  // What Noise sends for a 64 KiB write: two frames, each after its prefix.
  const plain = Buffer.concat(pieces.map(p => Buffer.from(p)))
  const out = xorForSending(new XSalsa20Stream(key, nonce), new Uint8ArrayList(...pieces))
  assert.deepEqual(out.map(p => p.byteLength), [2 + big.byteLength, 2 + small.byteLength], 'the first prefix rides with its frame; the small frame and its prefix are one copied run')
  assert.equal(out[0].byteOffset, 0, 'the whole allocation: the layer can free it once written')
  assert.equal(out[0].byteLength, out[0].buffer.byteLength)
  const expected = Buffer.from(plain)
  new XSalsa20Stream(key, nonce).xor(expected)
  assert.ok(Buffer.concat(out.map(p => Buffer.from(p))).equals(expected), 'the same bytes on the wire')
})

test('bytes that are not our sealed frames are copied, never written in place', () => {
  const theirs = new Uint8Array(4096).fill(5)
  const out = xorForSending(new XSalsa20Stream(key, nonce), new Uint8ArrayList(prefix(4096), theirs))
  assert.equal(out.length, 1)
  assert.equal(out[0].byteLength, 4098)
  assert.ok(theirs.every(b => b === 5), 'the caller\'s buffer is untouched')
})
