// Chained replication (chain/1) between real nodes over TCP: the owner hands each blob to the first
// holder once and the holders hand it on; grants that are forged, expired, replayed or used by a
// node they do not name are refused, counted, and write nothing; a broken chain (a holder down,
// full, or lying) falls back to the owner sending those copies itself, and every copy it reports
// is on its holder's disk.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { VaultError } from '../../src/errors.ts'
import { FrameStream } from '../../src/protocols/index.ts'
import {
  CHAIN_PROTOCOL, GRANT_CLOCK_SKEW_MS, GRANT_TTL_MS, MAX_BLOB_BYTES, newGrant, placeReplicas, signGrant, signReceipt,
  type ChainRequest, type Grant
} from '../../src/replication/index.ts'
import { makeBlob, replicatorFor, startCluster, stopNode, type Cluster, type TestNode } from './helpers.ts'
import { waitFor } from '../helpers/wait.ts'

async function onDisk (node: TestNode, owner: TestNode, id: string): Promise<Buffer | null> {
  return await readFile(node.store.pathOf(owner.id, id)).catch(() => null)
}

/** A blob whose placement order over `peers` has `node` at `index`. */
function blobPlacedAt (node: TestNode, index: number, peers: TestNode[]): { id: string, data: Buffer } {
  for (;;) {
    const blob = makeBlob(128 * 1024)
    if (placeReplicas(blob.id, peers.map(p => p.id), index + 1)[index] === node.id) return blob
  }
}

async function request (grant: Grant, signer: TestNode, hop = 0): Promise<ChainRequest> {
  return { v: 1, grant, sig: await signGrant(signer.privateKey, grant), hop, budgetMs: 4_000 }
}

const WAIT_MS = 5_000

/** Counts what the owner sends: block PUTs (direct copies) and chain hand-overs. */
function spyOnSends (owner: TestNode): { puts: number, chains: number } {
  const counts = { puts: 0, chains: 0 }
  const putBlob = owner.client.putBlob.bind(owner.client)
  owner.client.putBlob = async (...args) => { counts.puts++; await putBlob(...args) }
  const send = owner.chain!.client.send.bind(owner.chain!.client)
  owner.chain!.client.send = async (...args) => { counts.chains++; return await send(...args) }
  return counts
}

function refusals (node: TestNode, code: string): number {
  return node.server!.refusals()[code] ?? 0
}

async function refusedWith (promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof VaultError && err.code === code)
}

describe('chained replication over real nodes', () => {
  let cluster: Cluster
  let owner: TestNode, b: TestNode, c: TestNode, d: TestNode, full: TestNode, liar: TestNode, doomed: TestNode
  let good: TestNode[]

  before(async () => {
    cluster = await startCluster(8, { node: i => ({ chain: true, ...(i === 5 ? { maxStorageBytes: 1024 } : {}) }) })
    ;[owner, b, c, d, doomed, full, liar] = cluster.nodes
    good = [b, c, d, cluster.nodes[7]]
    // A chain goes only to peers known to speak chain/1, which identify tells: until it has run
    // for a holder, a put places that copy another way (and the first test saw another holder).
    await waitFor('the owner to know that every holder speaks chain/1', async () => (await Promise.all(good.map(async p => await owner.chain!.client.speaksChain(p.id)))).every(Boolean))
  })
  after(async () => { await cluster?.stop() })

  test('a 4-copy put sends each blob once: the first holder hands it on, all 3 holders have it durably', async () => {
    const replicator = replicatorFor(owner, cluster, { peers: good, chain: true })
    const sent = spyOnSends(owner)
    const before = owner.chain!.sender.stats()
    for (let i = 0; i < 4; i++) {
      const blob = makeBlob(256 * 1024)
      const { holders, shortfall } = await replicator.replicate(blob.id, blob.data, 4)
      assert.equal(shortfall, undefined)
      assert.deepEqual(holders, placeReplicas(blob.id, good.map(p => p.id), 3))
      for (const peer of good) {
        const bytes = await onDisk(peer, owner, blob.id)
        if (holders.includes(peer.id)) assert.ok(bytes?.equals(blob.data), 'each holder has the exact bytes')
        else assert.equal(bytes, null)
      }
    }
    assert.deepEqual(sent, { puts: 0, chains: 4 }, 'one hand-over per blob, no direct copy')
    assert.equal(owner.chain!.sender.stats().chained - before.chained, 12)
  })

  test('a grant signed by another key is refused as GRANT_INVALID, counted, and nothing is written', async () => {
    const blob = makeBlob()
    const grant = newGrant(owner.id, blob.id, blob.data.byteLength, [b.id, c.id])
    const counted = refusals(b, 'GRANT_INVALID')
    await refusedWith(owner.chain!.client.send(b.id, await request(grant, d), blob.data, WAIT_MS), 'GRANT_INVALID')
    assert.equal(refusals(b, 'GRANT_INVALID'), counted + 1)
    assert.equal(await onDisk(b, owner, blob.id), null)
    assert.equal(await onDisk(c, owner, blob.id), null)
  })

  test('an expired grant is refused as GRANT_EXPIRED, counted, and nothing is written', async () => {
    const blob = makeBlob()
    const grant = newGrant(owner.id, blob.id, blob.data.byteLength, [b.id], Date.now() - GRANT_TTL_MS - GRANT_CLOCK_SKEW_MS - 1_000)
    const counted = refusals(b, 'GRANT_EXPIRED')
    await refusedWith(owner.chain!.client.send(b.id, await request(grant, owner), blob.data, WAIT_MS), 'GRANT_EXPIRED')
    assert.equal(refusals(b, 'GRANT_EXPIRED'), counted + 1)
    assert.equal(await onDisk(b, owner, blob.id), null)
  })

  test('a grant within the clock skew is still accepted', async () => {
    const blob = makeBlob()
    const grant = newGrant(owner.id, blob.id, blob.data.byteLength, [b.id], Date.now() - GRANT_TTL_MS - GRANT_CLOCK_SKEW_MS / 2)
    const answer = await owner.chain!.client.send(b.id, await request(grant, owner), blob.data, WAIT_MS)
    assert.deepEqual(answer.receipts.map(r => r.holder), [b.id])
    assert.ok((await onDisk(b, owner, blob.id))?.equals(blob.data))
  })

  test('a replayed grant is refused as GRANT_REPLAYED and counted; the first use alone stored', async () => {
    const blob = makeBlob()
    const grant = newGrant(owner.id, blob.id, blob.data.byteLength, [b.id])
    const req = await request(grant, owner)
    await owner.chain!.client.send(b.id, req, blob.data, WAIT_MS)
    const stored = b.chain!.server.stats().stored
    const counted = refusals(b, 'GRANT_REPLAYED')
    await refusedWith(owner.chain!.client.send(b.id, req, blob.data, WAIT_MS), 'GRANT_REPLAYED')
    assert.equal(refusals(b, 'GRANT_REPLAYED'), counted + 1)
    assert.equal(b.chain!.server.stats().stored, stored, 'nothing stored for the replay')
  })

  test('a holder that hands the blob to a node outside the grant, or out of turn, is refused by that node', async () => {
    const blob = makeBlob()
    const grant = newGrant(owner.id, blob.id, blob.data.byteLength, [b.id, c.id])
    const counted = refusals(d, 'GRANT_INVALID')
    // b is named in the grant; d is not: d refuses whatever hop b claims.
    await refusedWith(b.chain!.client.send(d.id, await request(grant, owner, 1), blob.data, WAIT_MS), 'GRANT_INVALID')
    await refusedWith(b.chain!.client.send(d.id, await request(grant, owner, 0), blob.data, WAIT_MS), 'GRANT_INVALID')
    assert.equal(refusals(d, 'GRANT_INVALID'), counted + 2)
    assert.equal(await onDisk(d, owner, blob.id), null)
    // d (not in the grant) cannot hand it to c either, though c is named.
    await refusedWith(d.chain!.client.send(c.id, await request(grant, owner, 1), blob.data, WAIT_MS), 'GRANT_INVALID')
    assert.equal(await onDisk(c, owner, blob.id), null)
  })

  test('a full holder in the middle still hands on; the owner sends that copy to the next peer itself', async () => {
    const peers = [full, ...good]
    const replicator = replicatorFor(owner, cluster, { peers, chain: true })
    const blob = blobPlacedAt(full, 1, peers)
    const sent = spyOnSends(owner)
    const { holders, shortfall } = await replicator.replicate(blob.id, blob.data, 4)
    assert.equal(shortfall, undefined)
    assert.equal(holders.length, 3)
    assert.ok(!holders.includes(full.id))
    assert.equal(await full.store.has(owner.id, blob.id), false)
    for (const id of holders) assert.ok((await onDisk(cluster.nodes.find(n => n.id === id)!, owner, blob.id))?.equals(blob.data))
    // The chain's last holder got its copy through the full one: one hand-over, one direct copy.
    assert.deepEqual(sent, { puts: 1, chains: 1 })
  })

  test('a holder in the middle that lies about the copies is caught by the receipts: all copies sent again and durable', async () => {
    const peers = [liar, ...good]
    // The liar keeps nothing and hands nothing on; it answers with a receipt of its own over other
    // bytes and one it forged for the next holder.
    await liar.libp2p.unhandle(CHAIN_PROTOCOL)
    await liar.libp2p.handle(CHAIN_PROTOCOL, async (stream) => {
      const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
      const req = JSON.parse(new TextDecoder().decode((await frames.readFrame()) ?? new Uint8Array())) as ChainRequest
      await frames.readFrame()
      const other = { ...req.grant, id: makeBlob(16).id }
      const receipts = [
        { holder: liar.id, sig: await signReceipt(liar.privateKey, other, liar.id) },
        ...req.grant.holders.slice(req.hop + 1).map(holder => ({ holder, sig: '' }))
      ]
      for (const r of receipts) if (r.sig === '') r.sig = await signReceipt(liar.privateKey, req.grant, r.holder)
      await frames.writeJson({ ok: true, receipts, failures: [] })
      await frames.close()
    })
    const replicator = replicatorFor(owner, cluster, { peers, chain: true })
    const blob = blobPlacedAt(liar, 1, peers)
    const badBefore = owner.chain!.sender.stats().badReceipts
    const { holders, shortfall } = await replicator.replicate(blob.id, blob.data, 4)
    assert.equal(shortfall, undefined)
    const expected = placeReplicas(blob.id, peers.map(p => p.id), 3)
    assert.deepEqual([...holders].sort(), [...expected].sort())
    for (const id of holders) assert.ok((await onDisk(cluster.nodes.find(n => n.id === id)!, owner, blob.id))?.equals(blob.data), 'every reported copy is on disk')
    assert.ok(owner.chain!.sender.stats().badReceipts - badBefore >= 2, 'the forged receipts were counted')
  })

  test('a holder in the middle that is down is skipped: the chain goes on, the owner places that copy elsewhere', async () => {
    const peers = [doomed, ...good]
    const blob = blobPlacedAt(doomed, 1, peers)
    await stopNode(doomed)
    const replicator = replicatorFor(owner, cluster, { peers, chain: true })
    const sent = spyOnSends(owner)
    const { holders, shortfall } = await replicator.replicate(blob.id, blob.data, 4)
    assert.equal(shortfall, undefined)
    assert.equal(holders.length, 3)
    assert.ok(!holders.includes(doomed.id))
    for (const id of holders) assert.ok((await onDisk(cluster.nodes.find(n => n.id === id)!, owner, blob.id))?.equals(blob.data))
    // The down holder is tried directly once more (it may have been away a moment), then the next peer.
    assert.equal(sent.chains, 1)
    assert.ok(sent.puts <= 2)
  })
})

describe('chained replication with a slow holder', () => {
  let cluster: Cluster

  before(async () => {
    cluster = await startCluster(6, { timeoutMs: 3_000, node: () => ({ chain: true }) })
  })
  after(async () => { await cluster?.stop() })

  test('a holder in the middle that never answers costs the chain its budget, not the put: the copies are made directly', async () => {
    const [owner, staller, ...good] = cluster.nodes
    // The staller takes the request and the blob, then says nothing and hands nothing on.
    await staller.libp2p.unhandle(CHAIN_PROTOCOL)
    await staller.libp2p.handle(CHAIN_PROTOCOL, async (stream) => {
      const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
      while (await frames.readFrame().catch(() => null) != null) { /* swallow */ }
    })
    const peers = [staller, ...good]
    const replicator = replicatorFor(owner, cluster, { peers, chain: true })
    const blob = blobPlacedAt(staller, 1, peers)
    const started = Date.now()
    const { holders, shortfall } = await replicator.replicate(blob.id, blob.data, 4)
    const elapsed = Date.now() - started
    assert.equal(shortfall, undefined)
    assert.equal(holders.length, 3)
    assert.ok(!holders.includes(staller.id))
    for (const id of holders) assert.ok((await onDisk(cluster.nodes.find(n => n.id === id)!, owner, blob.id))?.equals(blob.data))
    // The first holder answers before the owner's deadline for the chain (3 holders × 3 s).
    assert.ok(elapsed < 3 * 3_000 + 3_000, `took ${elapsed} ms`)
    assert.ok(owner.chain!.sender.stats().chained >= 1, 'the first holder\'s copy came through the chain')
  })
})
