// A folder's put writes its blobs without an fsync each and makes them durable together (one
// syncfs through `sync -f`, else an fsync of each file and folder) before it commits. A flush that
// fails is the put's failure: nothing is listed. Faults are injected through a fake `sync` on PATH.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { openTestVault } from '../files/fixture.ts'
import { tempDir } from '../helpers/fs.ts'

async function tree (root: string, files: number): Promise<void> {
  await mkdir(join(root, 'sub'), { recursive: true })
  for (let i = 0; i < files; i++) await writeFile(join(root, i % 2 === 0 ? 'sub' : '', `f${i}.bin`), randomBytes(500 + i * 37))
}

/** Puts a folder on PATH whose `sync` runs `script` and logs its arguments to `log`. */
async function fakeSync (t: { after: (fn: () => void) => void }, dir: string, script: string): Promise<string> {
  const bin = join(dir, 'bin')
  await mkdir(bin)
  const log = join(dir, 'sync.log')
  await writeFile(join(bin, 'sync'), `#!/bin/sh\necho "$@" >> '${log}'\n${script}\n`)
  await chmod(join(bin, 'sync'), 0o755)
  const path = process.env.PATH
  process.env.PATH = `${bin}:${path ?? ''}`
  t.after(() => { process.env.PATH = path })
  return log
}

test('a folder is made durable by one syncfs of the store (sync -f), not an fsync per blob, and reads back', async (t) => {
  const tv = await openTestVault(t)
  const dir = await tempDir(t)
  const log = await fakeSync(t, dir, 'exec /bin/sync "$@"')
  await tree(join(dir, 'src'), 40)
  const stored = await tv.vault.putTree(join(dir, 'src'), { name: 'src' })
  assert.equal(stored.files, 40)
  const calls = (await readFile(log, 'utf8')).trim().split('\n')
  assert.deepEqual(calls, [`-f ${tv.store.root}`], 'one syncfs for the whole folder, on the store')
  await tv.vault.restoreTree(await tv.vault.open('src'), join(dir, 'out'))
  assert.deepEqual((await readdir(join(dir, 'out', 'sub'))).length, 20)
})

test('a folder\'s put whose flush finds the disk full fails with DISK_FULL and lists nothing', async (t) => {
  const tv = await openTestVault(t)
  const dir = await tempDir(t)
  await fakeSync(t, dir, 'echo "sync: error syncing \'$2\': No space left on device" >&2; exit 1')
  await tree(join(dir, 'src'), 10)
  await assert.rejects(tv.vault.putTree(join(dir, 'src'), { name: 'src' }), { code: 'DISK_FULL' })
  assert.deepEqual(tv.vault.list(), [])
})

test('a flush that fails with an I/O error fails the put (it is not retried file by file, which could miss the error)', async (t) => {
  const tv = await openTestVault(t)
  const dir = await tempDir(t)
  await fakeSync(t, dir, 'echo "sync: error syncing \'$2\': Input/output error" >&2; exit 1')
  await tree(join(dir, 'src'), 10)
  await assert.rejects(tv.vault.putTree(join(dir, 'src'), { name: 'src' }), { code: 'INTERNAL', message: /Input\/output error/ })
  assert.deepEqual(tv.vault.list(), [])
})

test('without a sync -f to run, each blob file and folder is fsynced instead, and the folder is stored', async (t) => {
  const tv = await openTestVault(t)
  const dir = await tempDir(t)
  const path = process.env.PATH
  process.env.PATH = join(dir, 'nothing-here')
  t.after(() => { process.env.PATH = path })
  await tree(join(dir, 'src'), 12)
  const stored = await tv.vault.putTree(join(dir, 'src'), { name: 'src' })
  process.env.PATH = path
  assert.equal(stored.files, 12)
  await tv.vault.restoreTree(await tv.vault.open('src'), join(dir, 'out'))
  assert.equal((await readdir(join(dir, 'out'))).length, 7) // sub/ and the 6 odd files
})
