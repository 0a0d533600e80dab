// A folder put (put DIR, a synced folder) stores each file the walk found, never what its path
// leads to a moment later. Someone who can write in the folder but not read the node user's files
// swaps an entry for a link to such a file (here: "secret") between the walk and the read: the
// link must be stored as a link, or the put refused as "the folder changed", never the secret's
// bytes under the entry's name (where a share of the folder, or a restore, hands them out).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/fs.ts'
import { VaultError } from '../../src/errors.ts'
import { openTestVault, type TestVault } from './fixture.ts'

const FILES = 40
const SECRET = 'the node user\'s private key'

/** Flips every `f<i>` between a regular file and a link to `secret`, atomically (rename from a
 * folder beside it), until killed (or for a minute at most). */
const SWAPPER = `
const { writeFileSync, symlinkSync, renameSync, rmSync } = require('node:fs')
const [dir, work, secret, count] = process.argv.slice(1)
setTimeout(() => process.exit(0), 60000).unref()
for (;;) {
  for (let i = 0; i < Number(count); i++) {
    const at = dir + '/f' + i
    writeFileSync(work + '/t' + i, 'public ' + i)
    renameSync(work + '/t' + i, at)
    rmSync(work + '/l' + i, { force: true })
    symlinkSync(secret, work + '/l' + i)
    renameSync(work + '/l' + i, at)
  }
}`

/** Each file of the stored folder `name` and its text. */
async function storedFiles (tv: TestVault, name: string): Promise<Array<{ path: string, text: string }>> {
  const file = await tv.vault.open(name)
  const files: Array<{ path: string, text: string }> = []
  for await (const entry of tv.vault.treeEntries(file)) {
    if (entry.type !== 'file') continue
    const parts: Buffer[] = []
    for await (const part of tv.vault.readTreeFile(file, entry)) parts.push(part)
    files.push({ path: entry.path, text: Buffer.concat(parts).toString() })
  }
  return files
}

test('an entry swapped for a link between the walk and the read is never stored as the file the link leads to', { timeout: 120_000 }, async (t) => {
  const tv = await openTestVault(t)
  const base = await tempDir(t)
  const dir = join(base, 'shared')
  await mkdir(dir)
  const secret = join(base, 'secret')
  await writeFile(secret, SECRET)
  const work = join(base, 'work')
  await mkdir(work)
  for (let i = 0; i < FILES; i++) await writeFile(join(dir, `f${i}`), `public ${i}`)
  const swapper = spawn(process.execPath, ['-e', SWAPPER, dir, work, secret, String(FILES)], { stdio: 'ignore' })
  t.after(() => { swapper.kill('SIGKILL') })

  let stored = 0
  let refused = 0
  for (let round = 0; round < 30; round++) {
    const put = await tv.vault.putTree(dir, { name: `shared-${round}` }).catch((err: unknown) => err)
    // Refused (nothing stored): the walk or the read saw the folder change under it.
    if (put instanceof VaultError && (put.code === 'BAD_INPUT' || put.code === 'NOT_FOUND')) { refused++; continue }
    if (put instanceof Error) throw put
    stored++
    for (const { path, text } of await storedFiles(tv, `shared-${round}`)) {
      assert.notEqual(text, SECRET, `round ${round}: "${path}" was stored with the bytes of the file its link led to`)
      assert.equal(text, `public ${path.slice(1)}`)
    }
  }
  t.diagnostic(`${stored} puts stored, ${refused} refused as changed`)
})

/** Flips `sub` between a real folder (with `key`: public) and a link to `secretDir` (whose `key` is the secret). */
const DIR_SWAPPER = `
const { renameSync, symlinkSync, unlinkSync } = require('node:fs')
const [dir, work, secretDir] = process.argv.slice(1)
setTimeout(() => process.exit(0), 60000).unref()
for (;;) {
  renameSync(dir + '/sub', work + '/sub')
  symlinkSync(secretDir, dir + '/sub')
  unlinkSync(dir + '/sub')
  renameSync(work + '/sub', dir + '/sub')
}`

test('a folder swapped for a link before the walk reads it never has the linked folder\'s files stored as its own', { timeout: 120_000 }, async (t) => {
  const tv = await openTestVault(t)
  const base = await tempDir(t)
  const dir = join(base, 'shared')
  const work = join(base, 'work')
  const secretDir = join(base, 'private')
  for (const d of [join(dir, 'sub'), work, secretDir]) await mkdir(d, { recursive: true })
  await writeFile(join(dir, 'sub', 'key'), 'public key')
  await writeFile(join(secretDir, 'key'), SECRET)
  // Many entries before sub/: the walk yields them first, which leaves time for the swap.
  for (let i = 0; i < FILES; i++) await writeFile(join(dir, `a${String(i).padStart(2, '0')}`), `public ${i}`)
  const swapper = spawn(process.execPath, ['-e', DIR_SWAPPER, dir, work, secretDir], { stdio: 'ignore' })
  t.after(() => { swapper.kill('SIGKILL') })

  let stored = 0
  for (let round = 0; round < 40; round++) {
    const put = await tv.vault.putTree(dir, { name: `shared-${round}` }).catch((err: unknown) => err)
    // Refused (the folder changed, or sub/key was not there at that instant): nothing stored. Any
    // other failure is a bug: a refused put's files in flight once claimed chunks into a row number
    // the next put was given (INTERNAL: UNIQUE constraint failed: file_chunks…).
    if (put instanceof VaultError && (put.code === 'BAD_INPUT' || put.code === 'NOT_FOUND')) continue
    if (put instanceof Error) throw put
    stored++
    for (const { path, text } of await storedFiles(tv, `shared-${round}`)) {
      assert.notEqual(text, SECRET, `round ${round}: "${path}" was stored with the bytes of the linked folder's file`)
    }
  }
  t.diagnostic(`${stored} puts stored`)
})
