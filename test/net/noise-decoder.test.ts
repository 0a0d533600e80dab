// Noise's frame decoder without an exception per socket read: our length function reads what the
// package's reads, says "wait for more" for 0–1 bytes without throwing, and is the one every real
// connection of a node uses; bytes still cross intact.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { peerIdFromString } from '@libp2p/peer-id'
import { Uint8ArrayList } from 'uint8arraylist'
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { noiseFrameLength, quietDecoderCount } from '../../src/net/noise-decoder.ts'
import { FrameStream } from '../../src/protocols/index.ts'
import { Harness, connectedTo, waitFor } from './helpers.ts'

test('frames split anywhere decode to the same frames as whole, and a short buffer waits instead of throwing', () => {
  assert.equal(noiseFrameLength(new Uint8Array(0)), 0xffff)
  assert.equal(noiseFrameLength(Uint8Array.of(7)), 0xffff)
  assert.equal(noiseFrameLength(new Uint8ArrayList(Uint8Array.of(7))), 0xffff)
  assert.equal(noiseFrameLength(Uint8Array.of(0x12, 0x34, 9)), 0x1234)
  assert.equal(noiseFrameLength(new Uint8ArrayList(Uint8Array.of(0xff), Uint8Array.of(0xfe))), 0xfffe)
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
    const wire = Buffer.concat(frames.flatMap(f => [Buffer.from([f.byteLength >> 8, f.byteLength & 0xff]), f]))
    const points = [...new Set([0, ...cuts.map(c => c % (wire.byteLength + 1)), wire.byteLength])].sort((a, b) => a - b)
    const decoder = new LengthPrefixedDecoder({ lengthDecoder: noiseFrameLength, encodingLength: () => 2, maxDataLength: 0xffff })
    const out: Buffer[] = []
    for (let i = 1; i < points.length; i++) for (const frame of decoder.decode(wire.subarray(points[i - 1], points[i]))) out.push(Buffer.from(frame.subarray()))
    // (the decoder drops empty frames, as Noise never sends one)
    assert.deepEqual(out, frames.filter(f => f.byteLength > 0).map(f => Buffer.from(f)))
  }), { numRuns: 200 })
})

test('every Noise connection of a node decodes with it, and a bulk transfer arrives intact', async (t) => {
  const before = quietDecoderCount()
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  await waitFor('b connected to a', () => connectedTo(b, a) && connectedTo(a, b))
  // One secured connection each side (the responder's completes a moment after the initiator's):
  // times out if a release of the package renamed its decoder.
  await waitFor('the decoder swapped on both sides', () => quietDecoderCount() - before >= 2)
  let received: Promise<Buffer> | undefined
  await a.network.libp2p.handle('/test/bulk/1', (stream) => {
    const frames = new FrameStream(stream, { maxFrameBytes: 1024 * 1024 })
    received = (async () => { const parts: Uint8Array[] = []; for (let f; (f = await frames.readFrame()) != null;) parts.push(f); return Buffer.concat(parts) })()
  })
  const sender = new FrameStream(await b.network.libp2p.dialProtocol(peerIdFromString(a.nodeId), '/test/bulk/1'), { maxFrameBytes: 1024 * 1024 })
  const body = randomBytes(6 * 1024 * 1024 + 17)
  for (let at = 0; at < body.byteLength; at += 1024 * 1024) await sender.writeFrame(body.subarray(at, at + 1024 * 1024))
  await sender.close()
  await waitFor('the stream to be handled', () => received !== undefined)
  assert.ok((await received!).equals(body), 'byte-equal')
})
