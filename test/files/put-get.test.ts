// put then get: what goes in comes out byte for byte, whole or by range, by name, ID or prefix.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { truncate } from 'node:fs/promises'
import { flipByte } from '../helpers/fs.ts'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { inPieces, openTestVault, readAll, vaultError } from './fixture.ts'

const MiB = 1024 * 1024

test('a file put then read comes back byte-equal, for 0 bytes, 1 byte and 5 MiB', async (t) => {
  const { vault } = await openTestVault(t)
  for (const [name, size] of [['empty.bin', 0], ['one.bin', 1], ['five.bin', 5 * MiB]] as const) {
    const data = randomBytes(size)
    const put = await vault.put(inPieces(data), { name, expectedSize: size })
    assert.equal(put.name, name)
    assert.equal(put.size, size)
    assert.match(put.id, /^[0-9a-f]{64}$/)
    assert.ok((await readAll(vault, name)).equals(data), `${name} by name`)
    assert.ok((await readAll(vault, put.id)).equals(data), `${name} by ID`)
    assert.ok((await readAll(vault, put.id.slice(0, 10))).equals(data), `${name} by ID prefix`)
  }
  assert.deepEqual(vault.list().map(f => [f.name, f.size]), [['empty.bin', 0], ['five.bin', 5 * MiB], ['one.bin', 1]])
})

test('a Node Readable stream can be put directly', async (t) => {
  const { vault } = await openTestVault(t)
  const data = randomBytes(MiB + 123)
  await vault.put(Readable.from(inPieces(data, 10_000)), { name: 'from-readable.bin' })
  assert.ok((await readAll(vault, 'from-readable.bin')).equals(data))
})

test('a file put again under the same name keeps the old one as version 1, both readable byte-equal', async (t) => {
  const { vault, blobFiles } = await openTestVault(t)
  const v1 = randomBytes(250_000) // under the chunker's 256 KiB minimum: one chunk per version, whatever the random bytes
  const v2 = randomBytes(200_000)
  const first = await vault.put(inPieces(v1), { name: 'notes.txt' })
  const second = await vault.put(inPieces(v2), { name: 'notes.txt' })
  assert.notEqual(first.id, second.id)
  const listed = vault.list()
  assert.deepEqual(listed.map(f => [f.name, f.id, f.size, f.versions]), [['notes.txt', second.id, 200_000, 2]], 'one row per name: the newest')
  assert.deepEqual(vault.versions('notes.txt').map(v => v.id), [first.id, second.id])
  assert.ok((await readAll(vault, 'notes.txt')).equals(v2))
  assert.ok((await readAll(vault, await vault.open('notes.txt', { version: 1 }))).equals(v1))
  assert.ok((await readAll(vault, first.id)).equals(v1), 'the old version by its ID')
  // Both versions' chunk and manifest are on disk.
  assert.equal((await blobFiles()).length, 4)
})

test('range reads return exactly the bytes asked for: the start, across chunk boundaries, and the end', async (t) => {
  const { vault } = await openTestVault(t)
  const data = randomBytes(6 * MiB + 7)
  await vault.put(inPieces(data), { name: 'big.bin' })
  const file = await vault.open('big.bin')
  const sizes = file.manifest.chunks.map(c => c.size)
  assert.ok(sizes.length >= 3, `expected several chunks, got ${sizes.length}`)
  const boundary1 = sizes[0]
  const boundary2 = sizes[0] + sizes[1]
  const last = data.length - 1
  const ranges = [
    { start: 0, end: 0 },
    { start: 0, end: 99 },
    { start: boundary1 - 10, end: boundary1 + 9 }, // straddles the first boundary
    { start: boundary1, end: boundary1 }, // first byte of the second chunk
    { start: boundary1 - 1, end: boundary1 - 1 }, // last byte of the first chunk
    { start: boundary1 - 5, end: boundary2 + 5 }, // a whole chunk and a bit of both neighbours
    { start: 12345, end: last - 12345 }, // the middle across every inner boundary
    { start: last - 999, end: last }, // a 1000-byte suffix
    { start: last, end: last },
    { start: 0, end: last }
  ]
  for (const r of ranges) {
    const got = await readAll(vault, file, r)
    assert.equal(got.length, r.end - r.start + 1, `length of ${r.start}-${r.end}`)
    assert.ok(got.equals(data.subarray(r.start, r.end + 1)), `bytes of ${r.start}-${r.end}`)
  }
})

test('opening a name or ID that does not exist is NOT_FOUND', async (t) => {
  const { vault } = await openTestVault(t)
  await vault.put(inPieces(Buffer.from('hello')), { name: 'hello.txt' })
  await assert.rejects(vault.open('nope.txt'), vaultError('NOT_FOUND'))
  await assert.rejects(vault.open('0'.repeat(64)), vaultError('NOT_FOUND'))
  await assert.rejects(vault.remove('nope.txt'), vaultError('NOT_FOUND'))
  assert.deepEqual(vault.list().map(f => f.name), ['hello.txt'])
})

test('a file whose name starts with "dv1." is still opened by its name', async (t) => {
  const { vault } = await openTestVault(t)
  const data = randomBytes(1000)
  await vault.put(inPieces(data), { name: 'dv1.notes.txt' })
  assert.ok((await readAll(vault, 'dv1.notes.txt')).equals(data))
})

test('files in folders keep their relative path as their name', async (t) => {
  const { vault } = await openTestVault(t)
  await vault.put(inPieces(Buffer.from('a')), { name: 'photos/2024/a.jpg' })
  await vault.put(inPieces(Buffer.from('b')), { name: './docs/b.txt' })
  assert.deepEqual(vault.list().map(f => f.name), ['docs/b.txt', 'photos/2024/a.jpg'])
  assert.equal((await readAll(vault, 'docs/b.txt')).toString(), 'b')
})

test('two puts of the same name at once leave two more versions of that name, each readable whole', async (t) => {
  const { vault } = await openTestVault(t)
  const [a, b] = [randomBytes(MiB), randomBytes(MiB)]
  await vault.put(inPieces(randomBytes(1000)), { name: 'race.bin' })
  const [pa, pb] = await Promise.all([
    vault.put(inPieces(a, 1000), { name: 'race.bin' }),
    vault.put(inPieces(b, 3000), { name: 'race.bin' })
  ])
  const listed = vault.list()
  assert.equal(listed.length, 1)
  assert.equal(listed[0].versions, 3)
  assert.ok([pa.id, pb.id].includes(listed[0].id))
  assert.deepEqual(new Set(vault.versions('race.bin').slice(1).map(v => v.id)), new Set([pa.id, pb.id]))
  assert.ok((await readAll(vault, pa.id)).equals(a))
  assert.ok((await readAll(vault, pb.id)).equals(b))
})

test('a chunk damaged on disk makes the read fail with CORRUPT, and other files stay readable', async (t) => {
  const { vault, store, identity } = await openTestVault(t)
  const data = randomBytes(3 * MiB)
  const other = randomBytes(MiB)
  await vault.put(inPieces(data), { name: 'victim.bin' })
  await vault.put(inPieces(other), { name: 'other.bin' })
  const file = await vault.open('victim.bin')
  await flipByte(store.pathOf(identity.nodeId, file.manifest.chunks[1].id), 1000, 0x04)
  await assert.rejects(readAll(vault, file), vaultError('CORRUPT'))
  // The first chunk alone is still served: damage is detected per chunk, not silently passed on.
  assert.ok((await readAll(vault, file, { start: 0, end: 999 })).equals(data.subarray(0, 1000)))
  assert.ok((await readAll(vault, 'other.bin')).equals(other))
})

test('putting a file again after one of its chunks was damaged on disk stores a readable copy', async (t) => {
  const { vault, store, identity } = await openTestVault(t)
  const data = randomBytes(3 * MiB)
  await vault.put(inPieces(data), { name: 'photo.raw' })
  const damaged = (await vault.open('photo.raw')).manifest.chunks[0].id
  await truncate(store.pathOf(identity.nodeId, damaged), 100)
  await assert.rejects(readAll(vault, 'photo.raw'), vaultError('CORRUPT'))
  // The user puts the original again: dedup must not keep pointing at the damaged copy.
  await vault.put(inPieces(data), { name: 'photo.raw' })
  assert.ok((await readAll(vault, 'photo.raw')).equals(data))
})
