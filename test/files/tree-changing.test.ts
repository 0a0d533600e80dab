// A folder put over a folder that changes under it (a synced folder being written to, or someone
// who can write in it doing so on purpose) may be refused, but never fails as a bug and never
// leaves the catalog wrong for the puts after it. A refused put's files in flight went on claiming
// chunks for its row after the put had deleted it; the next put was given the same row number and
// failed on those claims (INTERNAL: UNIQUE constraint failed: file_chunks…), or, when their
// numbers did not collide, was committed with chunks that were not its own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/fs.ts'
import { VaultError } from '../../src/errors.ts'
import { openTestVault } from './fixture.ts'

const FILES = 60

/** Deletes and writes again every `f<i>` (with new bytes) until killed, or for a minute at most. */
const CHURN = `
const { writeFileSync, unlinkSync } = require('node:fs')
const [dir, count] = process.argv.slice(1)
setTimeout(() => process.exit(0), 60000).unref()
const pause = new Int32Array(new SharedArrayBuffer(4))
for (let n = 0; ; n++) {
  for (let i = 0; i < Number(count); i++) {
    if (i % 7 === n % 7) { try { unlinkSync(dir + '/f' + i) } catch {} }
    else writeFileSync(dir + '/f' + i, 'round ' + n + ' of f' + i + ' '.repeat(i * 100))
  }
  Atomics.wait(pause, 0, 0, 3) // a breath: most puts get past their check and meet the change mid-walk
}`

test('puts of a folder that changes under them are refused or stored whole, and leave the catalog right', { timeout: 120_000 }, async (t) => {
  const tv = await openTestVault(t)
  const dir = join(await tempDir(t), 'busy')
  await mkdir(dir)
  for (let i = 0; i < FILES; i++) await writeFile(join(dir, `f${i}`), `first f${i}`)
  const churn = spawn(process.execPath, ['-e', CHURN, dir, String(FILES)], { stdio: 'ignore' })
  t.after(() => { churn.kill('SIGKILL') })

  const codes = new Map<string, number>()
  for (let round = 0; round < 60; round++) {
    const put = await tv.vault.putTree(dir, { name: 'busy' }).catch((err: unknown) => err)
    const code = put instanceof VaultError ? put.code : put instanceof Error ? `not a VaultError: ${put.message}` : 'stored'
    codes.set(code, (codes.get(code) ?? 0) + 1)
    assert.ok(['stored', 'BAD_INPUT', 'NOT_FOUND'].includes(code), `round ${round}: ${code}: ${(put as Error).message}`)
  }
  churn.kill('SIGKILL')
  t.diagnostic(JSON.stringify(Object.fromEntries(codes)))

  // Every version stored reads back whole, and its row claims exactly its own chunks. (Every round
  // may have been refused under a fast churn: then there is no version to look at, and no name.)
  const stored = codes.get('stored') ?? 0
  assert.equal(tv.vault.list().filter(f => f.name === 'busy').length, stored > 0 ? 1 : 0)
  for (const v of stored > 0 ? tv.vault.versions('busy') : []) {
    const file = await tv.vault.open(v.id)
    const claimed = new Set(tv.catalog.chunksOf(v.row).map(c => c.id))
    const own = new Set(file.manifest.chunks.map(c => c.id))
    for await (const entry of tv.vault.treeEntries(file)) {
      for (const [id] of entry.chunks ?? []) own.add(id)
      if (entry.type !== 'file') continue
      let size = 0
      for await (const part of tv.vault.readTreeFile(file, entry)) size += part.length
      assert.equal(size, entry.size, `${entry.path} of version ${v.id.slice(0, 8)}`)
    }
    assert.deepEqual([...claimed].filter(id => !own.has(id)), [], `version ${v.id.slice(0, 8)} claims chunks that are not its own`)
  }
})
