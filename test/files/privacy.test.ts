// Nothing in the data dir reveals a file's content or its name: a byte search of every file under
// it (catalog.db and its WAL included) finds neither.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { listFiles } from '../helpers/fs.ts'
import { inPieces, openTestVault, readAll } from './fixture.ts'

async function filesContaining (dir: string, markers: string[]): Promise<string[]> {
  const hits: string[] = []
  for (const file of await listFiles(dir)) {
    const bytes = await readFile(file)
    for (const marker of markers) {
      for (const form of [Buffer.from(marker, 'utf8'), Buffer.from(marker, 'utf16le'), Buffer.from(marker).toString('hex'), Buffer.from(marker).toString('base64')]) {
        if (bytes.includes(form)) hits.push(`${relative(dir, file)} contains ${JSON.stringify(marker)}`)
      }
    }
  }
  return hits
}

test('no file in the data dir contains a stored file\'s content or name', async (t) => {
  const tv = await openTestVault(t)
  const contentMarker = `CONTENT-MARKER-${randomBytes(8).toString('hex')}`
  const nameMarker = `NAME-MARKER-${randomBytes(8).toString('hex')}`
  // A small text file (one chunk) and a larger one with the marker in several chunks.
  const small = Buffer.from(`hello ${contentMarker} world\n`.repeat(20))
  const large = Buffer.concat(Array.from({ length: 40 }, () => Buffer.concat([randomBytes(100_000), Buffer.from(contentMarker)])))
  await tv.vault.put(inPieces(small), { name: `${nameMarker}.txt` })
  await tv.vault.put(inPieces(large), { name: `folder/${nameMarker}/large.bin` })
  await tv.vault.put(inPieces(small), { name: `copy-of-${nameMarker}.txt` })
  await tv.vault.remove(`copy-of-${nameMarker}.txt`)
  assert.ok((await readAll(tv.vault, `${nameMarker}.txt`)).equals(small), 'the file itself is readable')

  const files = await listFiles(tv.dir)
  assert.ok(files.some(f => f.endsWith('catalog.db-wal')), 'searched while the catalog WAL is live')
  assert.deepEqual(await filesContaining(tv.dir, [contentMarker, nameMarker]), [])

  await tv.reopenCatalog() // checkpoints the WAL into catalog.db
  assert.deepEqual(await filesContaining(tv.dir, [contentMarker, nameMarker]), [])
  assert.deepEqual(tv.vault.list().map(f => f.name).sort(), [`${nameMarker}.txt`, `folder/${nameMarker}/large.bin`].sort())
})
