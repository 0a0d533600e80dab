// Dedup and deletion: identical content is stored once, rm of one name never hurts another, and
// rm of the last name frees the disk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { stat } from 'node:fs/promises'
import { inPieces, openTestVault, readAll, vaultError } from './fixture.ts'

const MiB = 1024 * 1024

test('identical content under two names is stored once on disk', async (t) => {
  const { vault, blobFiles } = await openTestVault(t)
  const data = randomBytes(3 * MiB)
  const a = await vault.put(inPieces(data), { name: 'a.bin' })
  const afterFirst = await blobFiles()
  const chunkCount = (await vault.open('a.bin')).manifest.chunks.length
  assert.equal(afterFirst.length, chunkCount + 1, 'the chunks and one manifest')
  const b = await vault.put(inPieces(data, 1000), { name: 'b.bin' })
  assert.notEqual(a.id, b.id, 'each name has its own manifest')
  assert.equal((await blobFiles()).length, chunkCount + 2, 'the second name adds only its manifest')
  assert.deepEqual(vault.list().map(f => f.name), ['a.bin', 'b.bin'])
})

test('removing one of two names with the same content keeps the other readable and byte-equal', async (t) => {
  const { vault, blobFiles } = await openTestVault(t)
  const data = randomBytes(3 * MiB)
  await vault.put(inPieces(data), { name: 'a.bin' })
  await vault.put(inPieces(data), { name: 'b.bin' })
  const before = (await blobFiles()).length
  const removed = await vault.remove('a.bin')
  assert.equal(removed.name, 'a.bin')
  assert.deepEqual(vault.list().map(f => f.name), ['b.bin'])
  assert.ok((await readAll(vault, 'b.bin')).equals(data))
  assert.equal((await blobFiles()).length, before - 1, 'only a.bin\'s manifest went')
  await assert.rejects(vault.open('a.bin'), vaultError('NOT_FOUND'))
})

test('removing the last name of some content frees its chunks from disk', async (t) => {
  const { vault, blobFiles, journalFiles, store, identity } = await openTestVault(t)
  const keep = randomBytes(MiB)
  await vault.put(inPieces(keep), { name: 'keep.bin' })
  const keptBlobs = await blobFiles()
  const dataBytes = async (): Promise<number> => store.usage()[identity.nodeId] - await totalSize(await journalFiles())
  const usageBefore = await dataBytes()
  const data = randomBytes(3 * MiB)
  await vault.put(inPieces(data), { name: 'a.bin' })
  await vault.put(inPieces(data), { name: 'b.bin' })
  await vault.remove('a.bin')
  const put = vault.resolve('b.bin')
  await vault.remove(put.id) // by ID this time
  assert.deepEqual(await blobFiles(), keptBlobs)
  assert.equal(await dataBytes(), usageBefore)
  assert.deepEqual(vault.list().map(f => f.name), ['keep.bin'])
  assert.ok((await readAll(vault, 'keep.bin')).equals(keep))
})

test('a file that repeats the same chunk stores it once and reads back whole', async (t) => {
  const { vault, blobFiles } = await openTestVault(t)
  // All zeros cuts at the maximum chunk size every time: every full chunk is the same chunk.
  const data = Buffer.alloc(17 * MiB)
  await vault.put(inPieces(data, MiB), { name: 'zeros.bin' })
  const file = await vault.open('zeros.bin')
  const distinct = new Set(file.manifest.chunks.map(c => c.id))
  assert.ok(file.manifest.chunks.length > distinct.size)
  assert.equal((await blobFiles()).length, distinct.size + 1)
  assert.ok((await readAll(vault, file)).equals(data))
  await vault.remove('zeros.bin')
  assert.deepEqual(await blobFiles(), [])
})

test('removing a file while a put of the same content is half-way keeps the new file whole', async (t) => {
  const { vault, blobFiles } = await openTestVault(t)
  const data = randomBytes(4 * MiB)
  await vault.put(inPieces(data), { name: 'old.bin' })
  let removedMidPut = false
  // The new put has chunked (and claimed) most of the content when old.bin is removed: the
  // chunks it already claimed must survive the rm's garbage collection, the others are rewritten.
  async function * slowSource (): AsyncGenerator<Uint8Array> {
    const tail = data.length - 1000
    yield * inPieces(data.subarray(0, tail))
    await vault.remove('old.bin')
    removedMidPut = true
    yield data.subarray(tail)
  }
  const put = await vault.put(slowSource(), { name: 'new.bin' })
  assert.ok(removedMidPut)
  assert.equal(put.name, 'new.bin')
  assert.deepEqual(vault.list().map(f => f.name), ['new.bin'])
  assert.ok((await readAll(vault, 'new.bin')).equals(data))
  const file = await vault.open('new.bin')
  assert.equal((await blobFiles()).length, new Set(file.manifest.chunks.map(c => c.id)).size + 1)
})

async function totalSize (files: string[]): Promise<number> {
  let total = 0
  for (const f of files) total += (await stat(f)).size
  return total
}
