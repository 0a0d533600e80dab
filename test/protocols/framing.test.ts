// Frames over a libp2p stream: round trips, limits, truncation, schema validation, back-pressure.

import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import { z } from 'zod'
import { peerIdFromString } from '@libp2p/peer-id'
import { FrameStream, parseJsonFrame } from '../../src/protocols/index.ts'
import { DEFAULT_LIMITS } from '../../src/net/index.ts'
import type { Stream } from '@libp2p/interface'
import { Harness, connectedTo, waitFor, type TestNode } from '../net/helpers.ts'

/** Two real nodes (TCP, private network, Noise, yamux) and one stream from b to a on `protocol`:
 * `onStream` gets a's end, the dialled end is returned. */
async function streamOverYamux (t: TestContext, protocol: string, onStream: (stream: Stream) => void | Promise<void>): Promise<{ stream: Stream, a: TestNode, b: TestNode }> {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  await waitFor('b connected to a', () => connectedTo(b, a))
  await a.network.libp2p.handle(protocol, onStream)
  return { stream: await b.network.libp2p.dialProtocol(peerIdFromString(a.nodeId), protocol), a, b }
}

test('frames of every size up to the limit arrive intact and in order', async () => {
  const [a, b] = await streamPair()
  const sender = new FrameStream(a, { maxFrameBytes: 300_000 })
  const receiver = new FrameStream(b, { maxFrameBytes: 300_000 })
  const sizes = [0, 1, 3, 4, 5, 1000, 65_536, 300_000]
  const frames = sizes.map(n => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff))
  const writing = (async () => {
    for (const frame of frames) await sender.writeFrame(frame)
    await sender.close()
  })()
  for (const expected of frames) assert.deepEqual(await receiver.readFrame(), expected)
  assert.equal(await receiver.readFrame(), null)
  await writing
})

test('a frame over the limit is refused on both sides', async () => {
  const [a, b] = await streamPair()
  const sender = new FrameStream(a, { maxFrameBytes: 1_000_000 })
  const receiver = new FrameStream(b, { maxFrameBytes: 1024 })
  await assert.rejects(new FrameStream(a, { maxFrameBytes: 10 }).writeFrame(new Uint8Array(11)), { code: 'TOO_LARGE' })
  void sender.writeFrame(new Uint8Array(1025)).catch(() => {})
  await assert.rejects(receiver.readFrame(), { code: 'TOO_LARGE' })
})

test('a stream that ends inside a frame is reported as truncated', async () => {
  const [a, b] = await streamPair()
  const receiver = new FrameStream(b, { maxFrameBytes: 1024 })
  a.send(Uint8Array.of(0, 0, 0, 10, 1, 2, 3))
  await a.close()
  await assert.rejects(receiver.readFrame(), { code: 'TRUNCATED' })
})

test('over yamux, a read that resumes a paused stream takes the bytes it held back (no stall on bytes already here)', async (t) => {
  // The chain hand-on stall (2026-11-30): a holder reads a request, checks it (async), then reads
  // the body. Meanwhile the body arrived within the yamux window: 64 KiB into the frame buffer,
  // which paused the stream, the rest into the stream's own buffer. resume() hands that rest over
  // at once, synchronously; the read then slept until the next event, and there was none until
  // the sender gave up ~11 s later.
  let receiver: FrameStream | undefined
  const { stream } = await streamOverYamux(t, '/test/paused-reader/1', (s) => { receiver = new FrameStream(s, { maxFrameBytes: 1024 * 1024, readAheadBytes: 64 * 1024 }) })
  const sender = new FrameStream(stream, { maxFrameBytes: 1024 * 1024 })
  const body = randomBytes(256 * 1024)
  await sender.writeJson({ hello: 1 })
  await sender.writeFrame(body)
  await waitFor('the request to arrive', () => receiver !== undefined)
  assert.deepEqual(JSON.parse(new TextDecoder().decode((await receiver!.readFrame())!)), { hello: 1 })
  // The "async check": every byte is sent (within the window) and waits, part in the frame
  // buffer, part in the paused stream's buffer.
  await waitFor('the body to wait in the paused stream', () => receiver!.stream.readStatus === 'paused' && receiver!.stream.readBufferLength > 0)
  const pieces = await receiver!.readFramePieces({ signal: AbortSignal.timeout(3_000) })
  assert.ok(Buffer.concat(pieces!).equals(body), 'the whole body, byte-equal, without waiting for more')
})

test('JSON frames must match their schema exactly', () => {
  const schema = z.object({ n: z.number().int() })
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
  assert.deepEqual(parseJsonFrame(schema, bytes('{"n":1}')), { n: 1 })
  assert.throws(() => parseJsonFrame(schema, bytes('{"n":1.5}')), { code: 'BAD_FRAME' })
  assert.throws(() => parseJsonFrame(schema, bytes('{"n":')), { code: 'BAD_FRAME' })
  assert.throws(() => parseJsonFrame(schema, Uint8Array.of(0xff, 0xfe)), { code: 'BAD_FRAME' })
})

test('over yamux, a reader that stops reading stalls the writer instead of piling up its frames', async (t) => {
  let receiver: FrameStream | undefined
  const { stream: raw } = await streamOverYamux(t, '/test/slow-reader/1', (s) => { receiver = new FrameStream(s, { maxFrameBytes: 64 * 1024 }) })
  const sender = new FrameStream(raw, { maxFrameBytes: 64 * 1024 })
  let written = 0
  const writing = (async () => {
    for (let i = 0; i < 256; i++) {
      await sender.writeFrame(new Uint8Array(64 * 1024))
      written++
    }
    await sender.close()
  })()
  // Nobody reads: the writer must stop far short of the 16 MiB it wants to send.
  // Stalled: the stream's buffer is full and the writer waits for a 'drain' that never comes.
  await waitFor('the writer to stall', () => raw.writableNeedsDrain && written >= 4)
  // What may be in flight: the yamux window (4 MiB), the reader's buffer before it pauses the
  // stream (256 KiB), and a frame or two on either side.
  const limitFrames = (DEFAULT_LIMITS.maxStreamWindowBytes + 512 * 1024) / (64 * 1024)
  assert.ok(written <= limitFrames && written >= 4, `the writer got ${written} frames (${written * 64} KiB) ahead of a reader that reads nothing`)
  let read = 0
  while (await receiver!.readFrame() != null) read++
  await writing
  assert.equal(read, 256)
})

test('multi-MiB frames cross the private network intact (no WebAssembly memory blow-up)', async (t) => {
  const frameBytes = 4 * 1024 * 1024
  const digests: string[] = []
  const { stream, a, b } = await streamOverYamux(t, '/test/big-frames/1', async (s) => {
    const frames = new FrameStream(s, { maxFrameBytes: frameBytes })
    for (let frame = await frames.readFrame(); frame != null; frame = await frames.readFrame()) {
      digests.push(createHash('sha256').update(frame).digest('hex'))
    }
    await frames.close()
  })
  const sender = new FrameStream(stream, { maxFrameBytes: frameBytes })
  const sent: string[] = []
  // 128 MiB: with @libp2p/pnet 3.0.27 the xsalsa20 memory hits its cap well before that.
  for (let i = 0; i < 32; i++) {
    const frame = randomBytes(frameBytes) // fresh each time: the stream may still hold the last one
    sent.push(createHash('sha256').update(frame).digest('hex'))
    await sender.writeFrame(frame)
  }
  await sender.close()
  await waitFor('all frames received', () => digests.length === sent.length, { timeoutMs: 20_000 })
  assert.deepEqual(digests, sent)
  assert.ok(connectedTo(a, b), 'the connection survived')
})
