// A request frame is JSON of at most MAX_JSON_FRAME_BYTES. A holder must refuse a larger one from
// its 4-byte length, before it takes in a byte of it: otherwise every block or chain stream of a
// member can make the holder buffer a whole blob-sized frame (4 MiB) that no inbound budget
// reserved, for as long as the member withholds its last byte (the request's deadline). A body
// frame is held to the size its request reserved, the same way.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Stream } from '@libp2p/interface'
import { VaultError } from '../../src/errors.ts'
import { FrameStream } from '../../src/protocols/index.ts'
import { BLOCK_PROTOCOL, CHAIN_PROTOCOL, MAX_BLOB_BYTES, newGrant, signGrant } from '../../src/replication/index.ts'
import { MAX_JSON_FRAME_BYTES } from '../../src/replication/block-protocol.ts'
import { waitFor } from '../helpers/wait.ts'
import { startCluster, type Cluster, type TestNode } from './helpers.ts'

/** Sends a request frame header announcing `length` bytes, then all of them but the last. */
async function withheldRequest (from: TestNode, to: TestNode, protocol: string, length: number): Promise<FrameStream> {
  const stream = await from.libp2p.dialProtocol(peerIdFromString(to.id), protocol)
  const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
  const header = new Uint8Array(4)
  new DataView(header.buffer).setUint32(0, length)
  stream.send(header)
  stream.send(new Uint8Array(length - 1).fill(0x20))
  return frames
}

describe('a request frame larger than any JSON request is refused from its header', () => {
  let cluster: Cluster
  let holder: TestNode, member: TestNode

  before(async () => {
    // The holder would wait this long for the withheld byte: far longer than the test looks.
    cluster = await startCluster(2, { node: i => i === 0 ? { requestTimeoutMs: 60_000, chain: true } : {} })
    ;[holder, member] = cluster.nodes
    // The member dials over the connection the holder opened: wait until its side has it too.
    await waitFor('the member to see the holder\'s connection', () => member.libp2p.getConnections(peerIdFromString(holder.id)).length > 0)
  })
  after(async () => { await cluster?.stop() })

  for (const protocol of [BLOCK_PROTOCOL, CHAIN_PROTOCOL]) {
    test(`${protocol}: a header announcing a blob-sized request frame ends the stream at once`, async () => {
      const before = holder.server!.refusals().TOO_LARGE ?? 0
      const frames = await withheldRequest(member, holder, protocol, MAX_BLOB_BYTES)
      const started = Date.now()
      const reply = await frames.readFrame({ signal: AbortSignal.timeout(5_000) }).catch((err: unknown) => err)
      assert.ok(reply === null || (reply instanceof VaultError && reply.code !== 'TIMEOUT'),
        `the holder still held the stream after ${Date.now() - started} ms, buffering the frame: ${String(reply)}`)
      assert.equal(holder.server!.refusals().TOO_LARGE ?? 0, before + 1, 'the refusal is counted')
      frames.abort(new Error('done'))
    })
  }

  /** A blob-sized body frame after a request that reserved 1 byte, all but its last byte: the
   * holder must end the stream at once rather than buffer it. */
  async function sendBodyBeyondReserve (stream: Stream, frames: FrameStream): Promise<void> {
    const header = new Uint8Array(4)
    new DataView(header.buffer).setUint32(0, MAX_BLOB_BYTES)
    stream.send(header)
    stream.send(new Uint8Array(MAX_BLOB_BYTES - 1))
    const reply = await frames.readFrame({ signal: AbortSignal.timeout(5_000) }).catch((err: unknown) => err)
    assert.ok(reply === null || (reply instanceof VaultError && reply.code !== 'TIMEOUT'), `the holder still held the stream, buffering ${MAX_BLOB_BYTES} bytes for 1 reserved: ${String(reply)}`)
    frames.abort(new Error('done'))
  }

  test('a PUT body frame longer than the size its request reserved ends the stream at once', async () => {
    const stream = await member.libp2p.dialProtocol(peerIdFromString(holder.id), BLOCK_PROTOCOL)
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
    // One byte reserved from the inbound budget, then a blob-sized body, all but its last byte.
    await frames.writeJson({ op: 'put', owner: member.id, id: 'a'.repeat(64), size: 1 })
    await sendBodyBeyondReserve(stream, frames)
  })

  test('a chained copy whose body frame is longer than its grant\'s size ends the stream at once', async () => {
    const grant = newGrant(member.id, 'a'.repeat(64), 1, [holder.id])
    const sig = await signGrant(member.privateKey, grant)
    const stream = await member.libp2p.dialProtocol(peerIdFromString(holder.id), CHAIN_PROTOCOL)
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
    await frames.writeJson({ v: 1, grant, sig, hop: 0, budgetMs: 30_000 })
    await sendBodyBeyondReserve(stream, frames)
  })

  test('a request frame of exactly the JSON limit is still read (and refused as malformed, not as too large)', async () => {
    const before = holder.server!.refusals()
    const stream = await member.libp2p.dialProtocol(peerIdFromString(holder.id), BLOCK_PROTOCOL)
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
    await frames.writeFrame(new Uint8Array(MAX_JSON_FRAME_BYTES).fill(0x20))
    const reply = await frames.readFrame({ signal: AbortSignal.timeout(5_000) }).catch((err: unknown) => err)
    assert.ok(reply === null || (reply instanceof VaultError && reply.code !== 'TIMEOUT'), String(reply))
    const now = holder.server!.refusals()
    assert.equal(now.BAD_FRAME ?? 0, (before.BAD_FRAME ?? 0) + 1)
    assert.equal(now.TOO_LARGE ?? 0, before.TOO_LARGE ?? 0)
    frames.abort(new Error('done'))
  })
})
