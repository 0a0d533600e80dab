import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { VaultError } from '../../src/errors.ts'
import { FrameStream } from '../../src/protocols/index.ts'
import { BLOCK_PROTOCOL, MAX_BLOB_BYTES } from '../../src/replication/index.ts'
import { makeBlob, startCluster, type Cluster, type TestNode } from './helpers.ts'

const FULL_CAP = 100 * 1024

async function rejects (promise: Promise<unknown>, code: string): Promise<VaultError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof VaultError, `expected a VaultError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected ${code}, it succeeded`)
}

/** Opens a raw block stream, for speaking the protocol wrongly on purpose. */
async function rawStream (from: TestNode, to: TestNode): Promise<FrameStream> {
  const stream = await from.libp2p.dialProtocol(peerIdFromString(to.id), BLOCK_PROTOCOL)
  return new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
}

/** Resolves when the stream is reset or ended by the holder without a reply frame. */
async function assertNoReply (frames: FrameStream): Promise<void> {
  const reply = await frames.readFrame({ signal: AbortSignal.timeout(5000) }).catch((err: VaultError) => err)
  assert.ok(reply === null || (reply instanceof VaultError && reply.code !== 'TIMEOUT'), `holder answered: ${String(reply)}`)
}

describe('block protocol between real nodes', () => {
  let cluster: Cluster
  let owner: TestNode, holder: TestNode, other: TestNode, full: TestNode

  const events: string[] = []

  before(async () => {
    cluster = await startCluster(4, {
      node: i => i === 3
        ? { maxStorageBytes: FULL_CAP, onStored: (o, id, n) => events.push(`stored ${id} ${n}`), onDeleted: (o, id) => events.push(`deleted ${id}`) }
        : {}
    })
    ;[owner, holder, other, full] = cluster.nodes
  })
  after(async () => { await cluster?.stop() })

  test('an owner puts a blob on a holder; it is on disk in storage/<owner>/ and anyone can get it', async () => {
    const blob = makeBlob(300 * 1024)
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    const onDisk = await readFile(holder.store.pathOf(owner.id, blob.id))
    assert.ok(onDisk.equals(blob.data))
    assert.ok(holder.store.pathOf(owner.id, blob.id).startsWith(`${holder.dir}/storage/${owner.id}/`))
    assert.ok((await other.client.getBlob(holder.id, owner.id, blob.id)).equals(blob.data))
    assert.ok((await owner.client.getBlob(holder.id, owner.id, blob.id)).equals(blob.data))
    assert.equal(holder.server?.heldForOthersBytes(), holder.store.usage()[owner.id])
  })

  test('a PUT is idempotent', async () => {
    const blob = makeBlob()
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    const usage = holder.store.usage()[owner.id]
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    assert.equal(holder.store.usage()[owner.id], usage)
  })

  test('a blob of the largest chunk size travels; a larger one is refused before sending', async () => {
    const blob = makeBlob(MAX_BLOB_BYTES)
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    assert.ok((await other.client.getBlob(holder.id, owner.id, blob.id)).equals(blob.data))
    const big = makeBlob(MAX_BLOB_BYTES + 1)
    await rejects(owner.client.putBlob(holder.id, owner.id, big.id, big.data), 'TOO_LARGE')
  })

  test('a non-owner can neither put, delete nor list in an owner\'s folder', async () => {
    const blob = makeBlob()
    await rejects(other.client.putBlob(holder.id, owner.id, blob.id, blob.data), 'FORBIDDEN')
    assert.equal(await holder.store.has(owner.id, blob.id), false)

    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    await rejects(other.client.deleteBlobs(holder.id, owner.id, [blob.id]), 'FORBIDDEN')
    assert.equal(await holder.store.has(owner.id, blob.id), true)
    await rejects((async () => { for await (const _ of other.client.listBlobs(holder.id, owner.id)) { /* drain */ } })(), 'FORBIDDEN')
  })

  test('bytes that do not match their ID are refused as CORRUPT and not stored', async () => {
    const blob = makeBlob()
    const wrong = makeBlob()
    await rejects(owner.client.putBlob(holder.id, owner.id, blob.id, wrong.data), 'CORRUPT')
    assert.equal(await holder.store.has(owner.id, blob.id), false)
  })

  test('GET of a missing blob is NOT_FOUND; a blob corrupted on the holder\'s disk is CORRUPT, never served', async () => {
    const missing = makeBlob()
    await rejects(other.client.getBlob(holder.id, owner.id, missing.id), 'NOT_FOUND')
    const blob = makeBlob()
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    const rotten = Buffer.from(blob.data)
    rotten[100] ^= 0xff
    await writeFile(holder.store.pathOf(owner.id, blob.id), rotten)
    await rejects(other.client.getBlob(holder.id, owner.id, blob.id), 'CORRUPT')
    // The owner sending the chunk again heals the holder's copy.
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    assert.ok((await other.client.getBlob(holder.id, owner.id, blob.id)).equals(blob.data))
  })

  test('HAS reports which blobs a holder keeps, in any number', async () => {
    const kept = [makeBlob(1024), makeBlob(1024)]
    for (const b of kept) await owner.client.putBlob(holder.id, owner.id, b.id, b.data)
    const absent = Array.from({ length: 1500 }, () => makeBlob(16).id)
    const held = await other.client.hasBlobs(holder.id, owner.id, [absent[0], kept[0].id, ...absent.slice(1), kept[1].id])
    assert.deepEqual([...held].sort(), kept.map(b => b.id).sort())
  })

  test('LIST gives the owner every blob it keeps there, across pages', async () => {
    const lister = cluster.nodes[2]
    // More than one page (1000 IDs); seeded straight into the holder's store to keep it quick.
    const blobs = Array.from({ length: 1100 }, () => makeBlob(8))
    await Promise.all(blobs.map(async b => await holder.store.put(lister.id, b.id, b.data)))
    const ids = blobs.map(b => b.id)
    const listed: string[] = []
    for await (const id of lister.client.listBlobs(holder.id, lister.id)) listed.push(id)
    assert.deepEqual(listed, [...ids].sort())
    // A consumer that stops early releases the stream and the holder keeps serving.
    for await (const _ of lister.client.listBlobs(holder.id, lister.id)) break
    assert.equal((await lister.client.hasBlobs(holder.id, lister.id, [ids[0]])).size, 1)
  })

  test('DELETE frees the space and reports how many were deleted', async () => {
    const deleter = cluster.nodes[2]
    const blobs = [makeBlob(10_000), makeBlob(20_000)]
    for (const b of blobs) await deleter.client.putBlob(full.id, deleter.id, b.id, b.data)
    const before = full.store.usage()[deleter.id] ?? 0
    assert.equal(await deleter.client.deleteBlobs(full.id, deleter.id, [...blobs.map(b => b.id), makeBlob(8).id]), 2)
    assert.equal((full.store.usage()[deleter.id] ?? 0), before - 30_000)
    await rejects(other.client.getBlob(full.id, deleter.id, blobs[0].id), 'NOT_FOUND')
  })

  test('the holder reports what it stored and deleted', async () => {
    const blob = makeBlob(1000)
    events.length = 0
    await owner.client.putBlob(full.id, owner.id, blob.id, blob.data)
    await owner.client.putBlob(full.id, owner.id, blob.id, blob.data)
    await owner.client.deleteBlobs(full.id, owner.id, [blob.id, blob.id])
    assert.deepEqual(events, [`stored ${blob.id} 1000`, `deleted ${blob.id}`])
  })

  test('concurrent PUTs never overshoot the cap together', async () => {
    const blobs = Array.from({ length: 4 }, () => makeBlob(FULL_CAP * 0.4))
    const results = await Promise.allSettled(blobs.map(async b => await owner.client.putBlob(full.id, owner.id, b.id, b.data)))
    const refused = results.filter(r => r.status === 'rejected')
    assert.equal(refused.length, 2)
    for (const r of refused) assert.equal((r.reason as VaultError).code, 'STORAGE_FULL')
    assert.ok((full.server?.heldForOthersBytes() ?? 0) <= FULL_CAP)
    await owner.client.deleteBlobs(full.id, owner.id, blobs.map(b => b.id))
  })

  test('a full holder refuses with STORAGE_FULL; its own folder does not count', async () => {
    const own = makeBlob(FULL_CAP * 2)
    await full.store.put(full.id, own.id, own.data)
    const fits = makeBlob(FULL_CAP / 2)
    await owner.client.putBlob(full.id, owner.id, fits.id, fits.data)
    const tooMuch = makeBlob(FULL_CAP / 2 + 1)
    const err = await rejects(owner.client.putBlob(full.id, owner.id, tooMuch.id, tooMuch.data), 'STORAGE_FULL')
    assert.equal(err.status, 507)
    assert.equal(await full.store.has(owner.id, tooMuch.id), false)
    // Freeing space makes room again.
    await owner.client.deleteBlobs(full.id, owner.id, [fits.id])
    await owner.client.putBlob(full.id, owner.id, tooMuch.id, tooMuch.data)
  })

  test('malformed frames abort the stream and the holder keeps serving', async () => {
    const blob = makeBlob()
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    const bad: Array<(f: FrameStream) => Promise<void>> = [
      async f => await f.writeFrame(new TextEncoder().encode('not json')),
      async f => await f.writeJson({ op: 'get', owner: owner.id, id: '../../etc/passwd' }),
      async f => await f.writeJson({ op: 'explode', owner: owner.id }),
      async f => await f.writeJson({ op: 'get', owner: owner.id, id: blob.id, extra: 1 }),
      async f => await f.writeJson({ op: 'delete', owner: owner.id, ids: Array.from({ length: 1025 }, () => blob.id) }),
      // PUT announcing one size and sending another
      async f => { await f.writeJson({ op: 'put', owner: owner.id, id: blob.id, size: 10 }); await f.writeFrame(new Uint8Array(11)) },
      // a JSON request frame far beyond any real request
      async f => await f.writeFrame(new Uint8Array(200 * 1024).fill(32)),
      // a header announcing more than the frame limit
      async f => { f.stream.send(Uint8Array.of(0xff, 0xff, 0xff, 0xff)) }
    ]
    for (const send of bad) {
      const frames = await rawStream(other, holder)
      await send(frames)
      await assertNoReply(frames)
      frames.abort(new Error('done'))
    }
    assert.ok((await other.client.getBlob(holder.id, owner.id, blob.id)).equals(blob.data))
  })

  test('connections stay up after multi-MiB transfers (the pnet write cap in the helpers)', async () => {
    const blob = makeBlob(MAX_BLOB_BYTES)
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    await other.client.getBlob(holder.id, owner.id, blob.id)
    // Before the cap, a few hundred small writes on the other connections aborted them all.
    for (let i = 0; i < 150; i++) {
      await other.client.hasBlobs(holder.id, owner.id, [blob.id])
      await owner.client.hasBlobs(full.id, owner.id, [blob.id])
    }
  })

  test('several requests run at once on separate streams', async () => {
    const blobs = Array.from({ length: 12 }, () => makeBlob(256 * 1024))
    await Promise.all(blobs.map(async b => await owner.client.putBlob(holder.id, owner.id, b.id, b.data)))
    const got = await Promise.all(blobs.map(async b => await other.client.getBlob(holder.id, owner.id, b.id)))
    got.forEach((data, i) => assert.ok(data.equals(blobs[i].data)))
  })
})
