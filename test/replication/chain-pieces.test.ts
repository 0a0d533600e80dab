// A chained copy is never assembled into one buffer on a holder: the body is read as the pieces it
// arrived in, hashed piece by piece, written with writev and handed on as the same pieces. What
// must hold: each holder's file is the exact bytes, bodies that are not their ID are neither stored
// nor handed on, and a frame that follows the body on the stream still reads whole.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { streamPair } from '@libp2p/utils'
import { compactPieces, FrameStream } from '../../src/protocols/index.ts'
import { BlobStore } from '../../src/store/index.ts'
import { sha256Hex } from '../../src/crypto/index.ts'
import { placeReplicas } from '../../src/replication/index.ts'
import { makeBlob, replicatorFor, spyOnStore, startCluster, type Cluster, type TestNode } from './helpers.ts'

describe('a chained body travels in the pieces it arrived in', () => {
  let cluster: Cluster
  let owner: TestNode, b: TestNode, c: TestNode

  before(async () => {
    cluster = await startCluster(3, { node: () => ({ chain: true }) })
    ;[owner, b, c] = cluster.nodes
  })
  after(async () => { await cluster?.stop() })

  test('both holders write a 1 MiB blob from its pieces (never as one buffer) and keep the exact bytes', async () => {
    const spies = [spyOnStore(b), spyOnStore(c)]
    const replicator = replicatorFor(owner, cluster, { peers: [b, c], chain: true })
    const blob = makeBlob(1024 * 1024)
    const { holders, shortfall } = await replicator.replicate(blob.id, blob.data, 3)
    assert.equal(shortfall, undefined)
    assert.deepEqual(holders, placeReplicas(blob.id, [b.id, c.id], 2))
    for (const [i, holder] of [b, c].entries()) {
      assert.ok((await readFile(holder.store.pathOf(owner.id, blob.id))).equals(blob.data), 'the holder has the exact bytes')
      assert.deepEqual(spies[i].whole, [], 'no holder wrote the body as one assembled buffer')
      assert.equal(spies[i].pieces.length, 1)
      assert.equal(spies[i].pieces[0].bytes, blob.data.byteLength)
      assert.ok(spies[i].pieces[0].count > 1, `written from the received pieces (${spies[i].pieces[0].count})`)
    }
  })
})

test('a frame read as pieces is the frame, and the frame after it still reads whole', async () => {
  const [a, b] = await streamPair()
  const sender = new FrameStream(a, { maxFrameBytes: 1 << 20 })
  const receiver = new FrameStream(b, { maxFrameBytes: 1 << 20 })
  const body = randomBytes(300_000)
  const next = randomBytes(1000)
  // The body goes out as pieces (as a holder hands one on), the next frame whole, so the two share
  // the receiver's buffers: the body's last piece is a view that stops inside one of them.
  const writing = (async () => {
    await sender.writeFrame([body.subarray(0, 7), body.subarray(7, 100_003), body.subarray(100_003)])
    await sender.writeFrame(next)
    await sender.close()
  })()
  const pieces = await receiver.readFramePieces()
  assert.ok(pieces !== null)
  assert.ok(Buffer.concat(pieces).equals(body))
  assert.ok(Buffer.from((await receiver.readFrame())!).equals(next))
  assert.equal(await receiver.readFramePieces(), null)
  await writing
})

test('a store writes a blob given in pieces with writev: exact bytes, counted once, idempotent', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dv-pieces-'))
  t.after(async () => { await rm(dir, { recursive: true, force: true }) })
  const store = new BlobStore(dir)
  await store.start()
  const owner = '12D3KooWCBuyAyFWJYKQ2tz6VcFxtq9feZ4VcC12RCpgyfF96D9q'
  const data = randomBytes(1024 * 1024 + 17)
  const id = sha256Hex(data)
  // Uneven pieces, an empty one among them (as a list of socket reads may have).
  const cuts = [0, 1, 65_536, 65_536, 500_000, data.byteLength]
  const pieces = cuts.slice(1).map((end, i) => data.subarray(cuts[i], end))
  await store.putPieces(owner, id, pieces)
  await store.putPieces(owner, id, pieces)
  assert.ok((await readFile(store.pathOf(owner, id))).equals(data))
  assert.equal(store.usage()[owner], data.byteLength)
})

test('pieces that keep far more memory alive than their frame are joined; ordinary pieces are kept as they are', () => {
  // Ordinary: each piece most of its own received buffer.
  const ordinary = Array.from({ length: 16 }, () => randomBytes(65_536).subarray(30, 65_500))
  assert.equal(compactPieces(ordinary), ordinary)
  // Hostile: 1,000 one-byte pieces, each the only use of a 64 KiB buffer (64 MiB held for 1,000 bytes).
  const tiny = Array.from({ length: 1000 }, (_, i) => Buffer.alloc(65_536, i & 0xff).subarray(7, 8))
  const joined = compactPieces(tiny)
  assert.equal(joined.length, 1)
  assert.ok(Buffer.from(joined[0]).equals(Buffer.concat(tiny)))
})
