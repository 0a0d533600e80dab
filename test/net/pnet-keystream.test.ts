// The native private-network keystream (libsodium XSalsa20) is byte for byte the one of the
// `xsalsa20` module stock @libp2p/pnet uses, at any split of the stream into pieces.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import fc from 'fast-check'
import { XSalsa20Stream } from '../../src/net/xsalsa20.ts'

interface OldCipher { update: (input: Uint8Array, output: Uint8Array) => Uint8Array, finalize: () => void }
// The very module @libp2p/pnet uses (its dependency, resolved from there).
const oldXSalsa20 = createRequire(import.meta.resolve('@libp2p/pnet'))('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => OldCipher
/** The old module breaks on large inputs (its memory growth bug): feed it small windows. */
const OLD_WINDOW = 16 * 1024

function xorWithOldModule (key: Uint8Array, nonce: Uint8Array, data: Uint8Array, cuts: number[]): Uint8Array {
  const cipher = oldXSalsa20(nonce, key)
  const output = new Uint8Array(data.byteLength)
  try {
    for (const [start, end] of pieces(data.byteLength, cuts)) {
      for (let at = start; at < end; at += OLD_WINDOW) {
        const stop = Math.min(end, at + OLD_WINDOW)
        cipher.update(data.subarray(at, stop), output.subarray(at, stop))
      }
    }
  } finally {
    cipher.finalize()
  }
  return output
}

/** Ours, in place, piece by piece as a connection would see them. */
function xorWithOurs (key: Uint8Array, nonce: Uint8Array, data: Uint8Array, cuts: number[]): Uint8Array {
  const copy = data.slice()
  const keystream = new XSalsa20Stream(key, nonce)
  for (const [start, end] of pieces(copy.byteLength, cuts)) keystream.xor(copy.subarray(start, end))
  keystream.finish()
  return copy
}

function pieces (length: number, cuts: number[]): Array<[number, number]> {
  const points = [...new Set([0, ...cuts.map(c => c % (length + 1)), length])].sort((a, b) => a - b)
  return points.slice(1).map((end, i) => [points[i], end])
}

test('the native keystream equals the old module\'s at random keys, nonces and split points', () => {
  let cases = 0
  fc.assert(fc.property(
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.uint8Array({ minLength: 24, maxLength: 24 }),
    fc.integer({ min: 0, max: 300_000 }),
    fc.array(fc.nat(), { maxLength: 40 }),
    fc.array(fc.nat(), { maxLength: 40 }),
    (key, nonce, length, ourCuts, oldCuts) => {
      const data = new Uint8Array(length)
      for (let i = 0; i < length; i++) data[i] = (i * 131 + key[i % 32]) & 0xff
      const ours = xorWithOurs(key, nonce, data, ourCuts)
      const old = xorWithOldModule(key, nonce, data, oldCuts)
      assert.ok(Buffer.from(ours).equals(old), `keystreams differ (length ${length})`)
      cases++
    }
  ), { numRuns: 200 })
  assert.equal(cases >= 200, true)
})

test('split points off the 64-byte block boundary continue the keystream exactly', () => {
  const key = new Uint8Array(32).fill(7)
  const nonce = new Uint8Array(24).fill(9)
  const data = new Uint8Array(1000)
  const whole = xorWithOldModule(key, nonce, data, [])
  // 1-byte, then 63, 65, 1, 127... pieces: every offset mod 64 is crossed.
  const cuts: number[] = []
  for (let at = 0, step = 1; at < 1000; step = (step * 7 + 3) % 130 + 1) cuts.push(at += step)
  assert.ok(Buffer.from(xorWithOurs(key, nonce, data, cuts)).equals(whole))
})

test('XOR into a separate output leaves the input alone; a finished keystream refuses more', () => {
  const key = new Uint8Array(32).fill(1)
  const nonce = new Uint8Array(24).fill(2)
  const input = new Uint8Array(100).fill(0xaa)
  const output = new Uint8Array(100)
  const keystream = new XSalsa20Stream(key, nonce)
  keystream.xor(input, output)
  assert.ok(input.every(b => b === 0xaa))
  assert.ok(Buffer.from(output).equals(xorWithOldModule(key, nonce, input, [])))
  keystream.finish()
  assert.throws(() => { keystream.xor(input) }, /finished/)
})
