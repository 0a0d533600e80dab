// The catalog is only an index: deleting catalog.db loses nothing, because it is rebuilt from the
// sealed manifests in storage/<own id>/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { open } from 'node:fs/promises'
import { inPieces, openTestVault, readAll } from './fixture.ts'

const MiB = 1024 * 1024

test('after catalog.db is deleted, rebuild lists the same files and they read back byte-equal', async (t) => {
  const tv = await openTestVault(t)
  const contents = new Map<string, Buffer>([
    ['empty.bin', Buffer.alloc(0)],
    ['a.txt', Buffer.from('alpha')],
    ['docs/report.pdf', randomBytes(3 * MiB)],
    ['same-as-report.pdf', Buffer.alloc(0)]
  ])
  contents.set('same-as-report.pdf', contents.get('docs/report.pdf')!)
  for (const [name, data] of contents) await tv.vault.put(inPieces(data), { name, mtime: new Date('2024-05-06T07:08:09.000Z') })
  // A name put twice comes back with both versions; a removed file must not come back.
  await tv.vault.put(inPieces(Buffer.from('old')), { name: 'versioned.txt' })
  await tv.vault.put(inPieces(Buffer.from('new')), { name: 'versioned.txt' })
  contents.set('versioned.txt', Buffer.from('new'))
  await tv.vault.put(inPieces(Buffer.from('gone')), { name: 'removed.txt' })
  await tv.vault.remove('removed.txt')
  const before = tv.vault.list().map(f => ({ id: f.id, name: f.name, size: f.size, mtime: f.mtime }))

  await tv.reopenCatalog({ wipe: true })
  assert.deepEqual(tv.vault.list(), [], 'the new catalog starts empty')
  const result = await tv.vault.rebuild()
  assert.equal(result.files, before.length + 1, 'every version is a file: versioned.txt has two')
  assert.equal(result.skipped, 0)
  assert.deepEqual(tv.vault.versions('versioned.txt').map(v => v.size), [3, 3])
  assert.ok((await readAll(tv.vault, await tv.vault.open('versioned.txt', { version: 1 }))).equals(Buffer.from('old')))

  const after = tv.vault.list().map(f => ({ id: f.id, name: f.name, size: f.size, mtime: f.mtime }))
  assert.deepEqual(after, before)
  for (const [name, data] of contents) assert.ok((await readAll(tv.vault, name)).equals(data), name)
})

test('a rebuilt catalog keeps dedup safe: removing one name keeps the other readable', async (t) => {
  const tv = await openTestVault(t)
  const data = randomBytes(2 * MiB)
  await tv.vault.put(inPieces(data), { name: 'a.bin' })
  await tv.vault.put(inPieces(data), { name: 'b.bin' })
  await tv.reopenCatalog({ wipe: true })
  await tv.vault.rebuild()
  await tv.vault.remove('a.bin')
  assert.ok((await readAll(tv.vault, 'b.bin')).equals(data))
  await tv.vault.remove('b.bin')
  assert.deepEqual(await tv.blobFiles(), [])
})

test('rebuild skips a damaged manifest and still brings back every other file', async (t) => {
  const tv = await openTestVault(t)
  const good = randomBytes(100_000)
  await tv.vault.put(inPieces(good), { name: 'good.bin' })
  const bad = await tv.vault.put(inPieces(randomBytes(100_000)), { name: 'bad.bin' })
  // Damage the body of bad.bin's manifest (past the header that identifies it as ours).
  const fh = await open(tv.store.pathOf(tv.identity.nodeId, bad.id), 'r+')
  try {
    const { size } = await fh.stat()
    const byte = Buffer.alloc(1)
    await fh.read(byte, 0, 1, size - 5)
    byte[0] ^= 0x01
    await fh.write(byte, 0, 1, size - 5)
  } finally {
    await fh.close()
  }
  await tv.reopenCatalog({ wipe: true })
  const result = await tv.vault.rebuild()
  assert.equal(result.files, 1)
  assert.equal(result.skipped, 1)
  assert.deepEqual(tv.vault.list().map(f => f.name), ['good.bin'])
  assert.ok((await readAll(tv.vault, 'good.bin')).equals(good))
})

test('rebuilding a catalog that is already complete changes nothing', async (t) => {
  const tv = await openTestVault(t)
  await tv.vault.put(inPieces(randomBytes(1_500_000)), { name: 'x.bin' })
  const before = tv.vault.list()
  const result = await tv.vault.rebuild()
  assert.equal(result.files, 0)
  assert.deepEqual(tv.vault.list(), before)
})
