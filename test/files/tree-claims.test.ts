// A re-put of a folder claims the chunks of unchanged files without waiting (tree-put.ts's
// ChunkClaims). When such a claim failed (the catalog's disk full for a moment), the error was
// dropped and the put committed a version whose row did not claim those chunks; pruning the older
// version then collected them, here and on the holders, and the newest version could no longer be read.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { openTestVault } from './fixture.ts'
import { tempDir } from '../helpers/fs.ts'
import { VaultError } from '../../src/errors.ts'

test('a re-put of a folder whose claim of unchanged files\' chunks fails is refused, and nothing it relies on can be collected', async (t) => {
  const tv = await openTestVault(t)
  const dir = await tempDir(t)
  const src = join(dir, 'tree')
  await mkdir(src)
  for (let i = 0; i < 600; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(1_000))
  await tv.vault.putTree(src, { name: 'tree' })

  // The catalog refuses one batch of claims (SQLite's disk full for a moment), then takes them again.
  const addChunks = tv.catalog.addChunks.bind(tv.catalog)
  let failed = false
  tv.catalog.addChunks = (row, chunks) => {
    if (!failed) { failed = true; throw new VaultError('DISK_FULL', 'database or disk is full') }
    addChunks(row, chunks)
  }
  const second = await tv.vault.putTree(src, { name: 'tree' }).then(r => r, (err: unknown) => err as VaultError)
  tv.catalog.addChunks = addChunks
  assert.ok(failed, 'a claim failed')
  // Before: committed without claiming those chunks; prune then collected them from under it (NOT_FOUND on restore).
  assert.ok(second instanceof VaultError, 'the re-put is refused')
  assert.equal(second.code, 'DISK_FULL')
  assert.equal(tv.vault.versions('tree').length, 1, 'the failed re-put left no version')
  assert.equal(tv.catalog.countPending(), 0)
  // A re-put once the catalog takes claims again is whole: the first version can go.
  await tv.vault.putTree(src, { name: 'tree' })
  await tv.vault.prune({ keepLast: 1 })
  await tv.vault.restoreTree(await tv.vault.open('tree'), join(dir, 'out'))
})
