// The catalog: which files exist and which chunks each uses, with names sealed at rest.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Catalog, type FileRecord } from '../../src/catalog/index.ts'
import { randomKey } from '../../src/crypto/index.ts'
import { tempDir, type Cleanup } from '../helpers/fs.ts'

const hex = (): string => randomBytes(32).toString('hex')

interface Opened { catalog: Catalog, path: string, vaultKey: Buffer, reopen: (key: Buffer) => Catalog }

async function newCatalog (t: Cleanup, vaultKey = randomKey()): Promise<Opened> {
  // Registered before the temp dir's removal (hooks run in order): every handle closes first.
  const handles: Catalog[] = []
  t.after(() => { for (const c of handles) c.close() })
  const dir = await tempDir(t)
  const path = join(dir, 'catalog.db')
  const reopen = (key: Buffer): Catalog => {
    const c = new Catalog(path, key)
    handles.push(c)
    return c
  }
  return { catalog: reopen(vaultKey), path, vaultKey, reopen }
}

function file (name: string, extra: Partial<Omit<FileRecord, 'row'>> = {}): Omit<FileRecord, 'row'> {
  return { id: hex(), name, size: 10, mtime: '2024-01-01T00:00:00.000Z', ctime: new Date().toISOString(), replicas: 1, target: 1, ...extra }
}

test('a put in progress is not listed but keeps its chunks referenced until it ends', async (t) => {
  const { catalog } = await newCatalog(t)
  const chunk = hex()
  const row = catalog.beginFile()
  catalog.addChunk(row, 0, chunk, 10)
  assert.deepEqual(catalog.list(), [])
  assert.equal(catalog.countFiles(), 0)
  assert.equal(catalog.countPending(), 1)
  assert.ok(catalog.isReferenced(chunk))
  assert.deepEqual(catalog.deleteFile(row), [chunk])
  assert.equal(catalog.isReferenced(chunk), false)
})

test('deleting a file returns only the chunks that no other file, complete or pending, still uses', async (t) => {
  const { catalog } = await newCatalog(t)
  const [shared, onlyA, pendingToo] = [hex(), hex(), hex()]
  const a = catalog.insertFile(file('a'), [{ id: shared, size: 5 }, { id: onlyA, size: 3 }, { id: pendingToo, size: 2 }])
  catalog.insertFile(file('b'), [{ id: shared, size: 10 }])
  const pending = catalog.beginFile()
  catalog.addChunk(pending, 0, pendingToo, 2)
  assert.deepEqual(catalog.deleteFile(a).sort(), [onlyA])
  assert.ok(catalog.isReferenced(shared))
  assert.ok(catalog.isReferenced(pendingToo))
  assert.deepEqual(catalog.dropPending(), [pendingToo])
})

test('files are found by name, by full ID and by an unambiguous ID prefix of at least 8 digits', async (t) => {
  const { catalog } = await newCatalog(t)
  const f = file('photos/cat.jpg', { id: 'abcdef01' + hex().slice(8) })
  catalog.insertFile(f, [])
  catalog.insertFile(file('dog.jpg', { id: 'abcdef02' + hex().slice(8) }), [])
  assert.equal(catalog.byName('photos/cat.jpg')?.id, f.id)
  assert.equal(catalog.byName('cat.jpg'), undefined)
  assert.deepEqual(catalog.byId(f.id).map(r => r.name), ['photos/cat.jpg'])
  assert.deepEqual(catalog.byId('abcdef01').map(r => r.name), ['photos/cat.jpg'])
  assert.equal(catalog.byId('abcdef0').length, 0, 'seven digits are too few')
  assert.equal(catalog.byId('abcdef0%').length, 0, 'SQL wildcards are not IDs')
  assert.equal(catalog.byId('abcdef0_').length, 0, 'SQL wildcards are not IDs')
  assert.equal(catalog.byId('abcdef0' + '0').length, 0)
  catalog.insertFile(file('cow.jpg', { id: 'abcdef01' + hex().slice(8) }), [])
  assert.equal(catalog.byId('abcdef01').length, 2, 'an ambiguous prefix yields both')
})

test('the catalog lists files sorted by name and keeps their sizes and times', async (t) => {
  const { catalog } = await newCatalog(t)
  for (const name of ['b.txt', 'a.txt', 'c/d.txt']) catalog.insertFile(file(name, { size: name.length }), [])
  assert.deepEqual(catalog.list().map(f => [f.name, f.size, f.mtime]), [
    ['a.txt', 5, '2024-01-01T00:00:00.000Z'], ['b.txt', 5, '2024-01-01T00:00:00.000Z'], ['c/d.txt', 7, '2024-01-01T00:00:00.000Z']
  ])
})

test('names are not stored in clear, and another vault key cannot read them', async (t) => {
  const { catalog, reopen } = await newCatalog(t)
  catalog.insertFile(file('very-secret-name.txt'), [])
  const rows = catalog.db.prepare('SELECT * FROM files').all()
  assert.ok(!JSON.stringify(rows, (_k, v: unknown) => v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v).includes('very-secret'))
  catalog.close()
  const other = reopen(randomKey())
  assert.equal(other.byName('very-secret-name.txt'), undefined)
  assert.throws(() => other.list(), { name: 'VaultError', code: 'CORRUPT' })
})

test('of two files with one name (a crash mid-replace), only the newest is kept', async (t) => {
  const { catalog } = await newCatalog(t)
  const older = file('doc.txt', { ctime: '2024-01-01T00:00:00.000Z' })
  const newer = file('doc.txt', { ctime: '2024-06-01T00:00:00.000Z' })
  catalog.insertFile(newer, [])
  catalog.insertFile(older, [])
  catalog.insertFile(file('other.txt'), [])
  assert.equal(catalog.byName('doc.txt')?.id, newer.id)
  catalog.dropShadowedNames()
  assert.deepEqual(catalog.list().map(f => f.id), [newer.id, catalog.byName('other.txt')?.id])
})

test('a catalog reopened from disk still has its files', async (t) => {
  const { catalog, vaultKey, reopen } = await newCatalog(t)
  const f = file('kept.txt')
  catalog.insertFile(f, [{ id: hex(), size: 10 }])
  catalog.close()
  const again = reopen(vaultKey)
  assert.equal(again.byName('kept.txt')?.id, f.id)
  assert.equal(again.chunksOf(again.byName('kept.txt')!.row).length, 1)
})

test("the dashboard's whole-vault reads: copies per file, holders per file, holdings per peer, newest targets", async (t) => {
  const { catalog } = await newCatalog(t)
  const [big, small] = [hex(), hex()]
  const old = catalog.insertFile(file('a', { ctime: '2024-01-01T00:00:00.000Z' }), [])
  const a = file('a', { target: 2, ctime: '2024-06-01T00:00:00.000Z' })
  const rowA = catalog.insertFile(a, [{ id: big, size: 100 }, { id: small, size: 50 }])
  const rowB = catalog.insertFile(file('b', { target: 'all' }), [{ id: big, size: 100 }])
  catalog.holders.add(big, ['peer-q', 'peer-p'])
  catalog.holders.add(small, ['peer-p'])
  catalog.holders.add(a.id, ['peer-p', 'peer-q'])

  // The fewest over a file's blobs (chunks and manifest): b's manifest has no holder.
  const byQ = catalog.holders.copiesPerFile(['peer-q'])
  assert.deepEqual(byQ.get(rowA), { recorded: 1, online: 0 }, 'its small chunk is on peer-p alone')
  assert.deepEqual(byQ.get(rowB), { recorded: 0, online: 0 })
  assert.deepEqual(byQ.get(old), { recorded: 0, online: 0 })
  assert.deepEqual(catalog.holders.copiesPerFile(new Set(['peer-p'])).get(rowA), { recorded: 1, online: 1 })
  assert.deepEqual(catalog.holders.copiesPerFile([]).get(rowA), { recorded: 1, online: 0 })

  const holders = catalog.holders.holdersPerFile()
  assert.deepEqual(holders.get(rowA), ['peer-p', 'peer-q'])
  assert.deepEqual(holders.get(rowB), ['peer-p', 'peer-q'])
  assert.equal(holders.get(old), undefined)

  // A manifest counts as a blob held, with no bytes (its size is not recorded).
  assert.deepEqual(catalog.holders.holdingsPerPeer(), new Map([['peer-p', { blobs: 3, bytes: 150 }], ['peer-q', { blobs: 2, bytes: 100 }]]))

  assert.deepEqual(catalog.newestTargets().sort((x, y) => x.row - y.row), [{ row: rowA, target: 2 }, { row: rowB, target: 'all' }])
})
