import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { VaultError } from '../../src/errors.ts'
import { FrameStream } from '../../src/protocols/index.ts'
import { BLOCK_PROTOCOL, BlockClient, MAX_BLOB_BYTES, placeReplicas } from '../../src/replication/index.ts'
import { makeBlob, replicatorFor, startCluster, type Cluster, type TestNode } from './helpers.ts'

/** A blob whose rendezvous order over `peers` starts with `first`. */
function blobPlacedFirstOn (first: TestNode, peers: TestNode[], bytes = 32 * 1024): { id: string, data: Buffer } {
  for (;;) {
    const blob = makeBlob(bytes)
    if (placeReplicas(blob.id, peers.map(p => p.id), 1)[0] === first.id) return blob
  }
}

/** Records which peers a client was asked to GET from, in order. */
function spyOnGets (client: BlockClient): string[] {
  const asked: string[] = []
  const getBlob = client.getBlob.bind(client)
  client.getBlob = async (peerId, owner, id, signal) => { asked.push(peerId); return await getBlob(peerId, owner, id, signal) }
  return asked
}

/** A holder that acknowledges every PUT without storing it and answers every GET with random bytes. */
async function makeLiar (node: TestNode): Promise<void> {
  await node.libp2p.handle(BLOCK_PROTOCOL, async (stream) => {
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
    const request = JSON.parse(new TextDecoder().decode((await frames.readFrame()) ?? new Uint8Array()))
    if (request.op === 'put') await frames.readFrame()
    if (request.op === 'get') {
      await frames.writeJson({ ok: true, size: 1024 })
      await frames.writeFrame(randomBytes(1024))
    } else {
      await frames.writeJson({ ok: true })
    }
    await frames.close()
  })
}

/** A holder that accepts streams and never answers. */
async function makeStaller (node: TestNode): Promise<void> {
  await node.libp2p.handle(BLOCK_PROTOCOL, async (stream) => {
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
    while (await frames.readFrame().catch(() => null) != null) { /* swallow */ }
  })
}

async function onDisk (node: TestNode, owner: TestNode, id: string): Promise<Buffer | null> {
  return await readFile(node.store.pathOf(owner.id, id)).catch(() => null)
}

describe('Replicator over real nodes', () => {
  let cluster: Cluster
  let owner: TestNode, reader: TestNode, full: TestNode, liar: TestNode, staller: TestNode, doomed: TestNode
  let good: TestNode[]

  before(async () => {
    cluster = await startCluster(9, {
      node: i => i === 5 ? { maxStorageBytes: 1024 } : i === 6 || i === 7 ? { server: false } : {}
    })
    const n = cluster.nodes
    ;[owner, reader, full, liar, staller, doomed] = [n[0], n[8], n[5], n[6], n[7], n[4]]
    good = [n[1], n[2], n[3], n[4]]
    await makeLiar(liar)
    await makeStaller(staller)
  })
  after(async () => { await cluster?.stop() })

  test('a chunk goes to exactly R-1 peers, the first in rendezvous order, byte for byte', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good })
    for (let i = 0; i < 5; i++) {
      const blob = makeBlob(200 * 1024)
      const { holders } = await replicator.replicate(blob.id, blob.data, 3)
      assert.deepEqual(holders, placeReplicas(blob.id, good.map(p => p.id), 2))
      for (const peer of good) {
        const bytes = await onDisk(peer, owner, blob.id)
        if (holders.includes(peer.id)) assert.ok(bytes?.equals(blob.data), 'holder has the exact bytes')
        else assert.equal(bytes, null, 'a non-chosen peer has nothing')
      }
    }
  })

  test('replicas: 1 keeps the owner\'s copy only; "all" reaches every peer; too few peers is reported, not thrown', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good })
    const blob = makeBlob()
    assert.deepEqual((await replicator.replicate(blob.id, blob.data, 1)).holders, [])
    const everywhere = await replicator.replicate(blob.id, blob.data, 'all')
    assert.deepEqual([...everywhere.holders].sort(), good.map(p => p.id).sort())
    const many = makeBlob()
    assert.equal((await replicator.replicate(many.id, many.data, 10)).holders.length, good.length)
  })

  test('peers that already hold a copy count toward the target and get no new copy', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good })
    const blob = makeBlob()
    const order = placeReplicas(blob.id, good.map(p => p.id), Infinity)
    const { holders } = await replicator.replicate(blob.id, blob.data, 3, { existing: [order[3]] })
    assert.deepEqual(holders, [order[3], order[0]])
    assert.equal(await onDisk(good.find(p => p.id === order[1]) as TestNode, owner, blob.id), null)
  })

  test('a full holder refuses and the copy goes to the next peer in order', async () => {
    const peers = [full, ...good]
    const replicator = replicatorFor(owner, cluster, { peers })
    const blob = blobPlacedFirstOn(full, peers)
    const { holders } = await replicator.replicate(blob.id, blob.data, 3)
    assert.deepEqual(holders, placeReplicas(blob.id, good.map(p => p.id), 2))
    assert.equal(await full.store.has(owner.id, blob.id), false)
  })

  test('a holder that stalls is passed over after the timeout', async () => {
    const timeoutMs = 1000
    const peers = [staller, ...good]
    const replicator = replicatorFor(owner, cluster, { peers, client: new BlockClient({ libp2p: owner.libp2p, timeoutMs }) })
    const blob = blobPlacedFirstOn(staller, peers)
    const started = Date.now()
    const { holders } = await replicator.replicate(blob.id, blob.data, 3)
    const elapsed = Date.now() - started
    assert.deepEqual(holders, placeReplicas(blob.id, good.map(p => p.id), 2))
    assert.ok(elapsed >= timeoutMs - 50 && elapsed < timeoutMs + 3000, `took ${elapsed} ms`)
  })

  test('a holder returning wrong bytes is detected and the next holder is used', async () => {
    const peers = [liar, ...good]
    const blob = blobPlacedFirstOn(liar, peers)
    const { holders } = await replicatorFor(owner, cluster, { peers }).replicate(blob.id, blob.data, 3)
    assert.equal(holders[0], liar.id, 'the liar acknowledged the copy')
    const client = new BlockClient({ libp2p: reader.libp2p, timeoutMs: 5000 })
    const asked = spyOnGets(client)
    const got = await replicatorFor(reader, cluster, { peers, client }).fetch(owner.id, blob.id)
    assert.ok(got.equals(blob.data))
    assert.equal(asked[0], liar.id)
  })

  test('a copy corrupted on a holder\'s disk is never served; the next holder is', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good })
    const blob = makeBlob()
    const { holders } = await replicator.replicate(blob.id, blob.data, 3)
    const first = good.find(p => p.id === holders[0]) as TestNode
    const rotten = Buffer.from(blob.data)
    rotten[0] ^= 1
    await writeFile(first.store.pathOf(owner.id, blob.id), rotten)
    const client = new BlockClient({ libp2p: reader.libp2p, timeoutMs: 5000 })
    const asked = spyOnGets(client)
    // The reader sees the holders but not the owner (it is away), so it must go through them.
    const got = await replicatorFor(reader, cluster, { peers: good, client }).fetch(owner.id, blob.id)
    assert.ok(got.equals(blob.data))
    assert.deepEqual(asked.slice(0, 2), holders)
  })

  test('fetch asks the owner first when it is live, since it keeps every blob of its own', async () => {
    const blob = makeBlob()
    await owner.store.put(owner.id, blob.id, blob.data)
    const client = new BlockClient({ libp2p: reader.libp2p, timeoutMs: 5000 })
    const asked = spyOnGets(client)
    const got = await replicatorFor(reader, cluster, { peers: [...good, owner], client }).fetch(owner.id, blob.id)
    assert.ok(got.equals(blob.data))
    assert.deepEqual(asked, [owner.id])
  })

  test('a slow holder does not hold up a read: the next one is asked alongside', async () => {
    const peers = [staller, ...good]
    const blob = blobPlacedFirstOn(staller, peers)
    await replicatorFor(owner, cluster, { peers: good }).replicate(blob.id, blob.data, 'all')
    const client = new BlockClient({ libp2p: reader.libp2p, timeoutMs: 10_000 })
    const asked = spyOnGets(client)
    const started = Date.now()
    const got = await replicatorFor(reader, cluster, { peers, client }).fetch(owner.id, blob.id)
    assert.ok(got.equals(blob.data))
    assert.equal(asked[0], staller.id)
    assert.ok(Date.now() - started < 5000, 'answered long before the slow holder\'s timeout')
  })

  test('a chunk whose bytes do not match its ID is refused by the first holder and not pushed further', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good })
    const blob = makeBlob()
    await assert.rejects(replicator.replicate(blob.id, makeBlob().data, 3), (err: VaultError) => err.code === 'CORRUPT')
    await assert.rejects(replicator.replicate(blob.id, blob.data, 0), (err: VaultError) => err.code === 'BAD_INPUT')
  })

  test('a blob nobody holds fails cleanly with NOT_FOUND', async () => {
    const blob = makeBlob()
    await assert.rejects(replicatorFor(reader, cluster, { peers: good }).fetch(owner.id, blob.id),
      (err: VaultError) => err instanceof VaultError && err.code === 'NOT_FOUND')
    await assert.rejects(replicatorFor(reader, cluster, { peers: [] }).fetch(owner.id, blob.id),
      (err: VaultError) => err instanceof VaultError && err.code === 'UNREACHABLE')
  })

  test('several chunks replicate at once and all arrive', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good, inFlight: 4 })
    const blobs = Array.from({ length: 16 }, () => makeBlob(512 * 1024))
    const results = await Promise.all(blobs.map(async b => await replicator.replicate(b.id, b.data, 3)))
    for (const [i, { holders }] of results.entries()) {
      assert.equal(holders.length, 2)
      for (const id of holders) assert.ok((await onDisk(good.find(p => p.id === id) as TestNode, owner, blobs[i].id))?.equals(blobs[i].data))
    }
  })

  test('remove tells the holders, who free the space', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good })
    const blob = makeBlob(100_000)
    const { holders } = await replicator.replicate(blob.id, blob.data, 'all')
    const before = good.map(p => p.store.usage()[owner.id] ?? 0)
    const { told, failed } = await replicator.remove([blob.id])
    assert.deepEqual([...told].sort(), [...holders].sort())
    assert.deepEqual(failed, [])
    good.forEach((p, i) => assert.equal(p.store.usage()[owner.id] ?? 0, before[i] - 100_000))
    for (const p of good) assert.equal(await p.store.has(owner.id, blob.id), false)
  })

  test('a dead holder is passed over within the timeout, reads still work, and remove reports it', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good })
    const kept = blobPlacedFirstOn(doomed, good)
    const { holders: keptHolders } = await replicator.replicate(kept.id, kept.data, 3)
    assert.equal(keptHolders[0], doomed.id)
    await doomed.libp2p.stop()

    const blob = blobPlacedFirstOn(doomed, good)
    const started = Date.now()
    const { holders } = await replicator.replicate(blob.id, blob.data, 3)
    assert.ok(Date.now() - started < owner.client.timeoutMs, 'did not wait out the timeout')
    const alive = good.filter(p => p !== doomed)
    assert.deepEqual(holders, placeReplicas(blob.id, alive.map(p => p.id), 2))

    // The reader still lists the dead peer as live (nobody noticed yet), and the owner is away.
    const got = await replicatorFor(reader, cluster, { peers: good }).fetch(owner.id, kept.id)
    assert.ok(got.equals(kept.data))

    const { failed } = await replicator.remove([blob.id])
    assert.deepEqual(failed, [doomed.id])
  })
})
