// A direct block PUT (the owner's own copy, or its fallback when a chain broke) is handled like a
// chained copy on the holder: read as the pieces it arrived in, hashed piece by piece, written with
// writev; never assembled into one buffer. What must hold: the holder keeps the exact bytes, a body
// that is not its ID is refused (CORRUPT) and nothing is written, and a reader's GET still returns
// the exact bytes (hashed from the pieces before they are joined).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { VaultError } from '../../src/errors.ts'
import { makeBlob, spyOnStore, startCluster, type Cluster, type TestNode } from './helpers.ts'

describe('a direct PUT travels in the pieces it arrived in', () => {
  let cluster: Cluster
  let owner: TestNode, holder: TestNode, reader: TestNode

  before(async () => {
    cluster = await startCluster(3)
    ;[owner, holder, reader] = cluster.nodes
  })
  after(async () => { await cluster?.stop() })

  test('the holder writes a 1 MiB blob from its pieces (never as one buffer) and keeps the exact bytes', async () => {
    const spy = spyOnStore(holder)
    const blob = makeBlob(1024 * 1024)
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    assert.ok((await readFile(holder.store.pathOf(owner.id, blob.id))).equals(blob.data), 'the holder has the exact bytes')
    assert.deepEqual(spy.whole, [], 'the body was not written as one assembled buffer')
    assert.equal(spy.pieces.length, 1)
    assert.equal(spy.pieces[0].bytes, blob.data.byteLength)
    assert.ok(spy.pieces[0].count > 1, `written from the received pieces (${spy.pieces[0].count})`)
    const got = await reader.client.getBlob(holder.id, owner.id, blob.id)
    assert.ok(got.equals(blob.data), 'a reader gets the exact bytes')
    assert.equal(got.byteLength, got.buffer.byteLength, 'the blob a reader gets is the whole of its memory (it can move to a worker)')
  })

  test('a body that is not its ID is refused before a byte is written', async () => {
    const spy = spyOnStore(holder)
    const blob = makeBlob(512 * 1024)
    const lie = Buffer.from(blob.data)
    lie[1000] ^= 1
    const err = await owner.client.putBlob(holder.id, owner.id, blob.id, lie).then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof VaultError, String(err))
    assert.equal(err.code, 'CORRUPT')
    assert.deepEqual(spy.pieces, [])
    assert.equal(await holder.store.has(owner.id, blob.id), false)
  })
})
