// Temp-dir helpers for tests: real directories under the OS temp dir, removed when the test (or
// suite) ends, whether it passed or failed.
import { mkdtemp, open, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Anything with an `after` hook: a TestContext (`t`) or a suite (`{ after }` from node:test). */
export interface Cleanup { after: (fn: () => unknown) => void }

/** Creates a fresh temp dir and removes it (recursively) when `scope` ends. */
export async function tempDir (scope: Cleanup, prefix = 'dv-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  scope.after(async () => { await rm(dir, { recursive: true, force: true, maxRetries: 3 }) })
  return dir
}

/** Every regular file under `dir`, recursively, as absolute paths (a missing dir has none). */
export async function listFiles (dir: string): Promise<string[]> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  return entries.filter(e => e.isFile()).map(e => join(e.parentPath, e.name)).sort()
}

/** Damages a file in place: XORs the byte at `offset` with `mask` (a disk that lies). */
export async function flipByte (path: string, offset: number, mask = 0x01): Promise<void> {
  const fh = await open(path, 'r+')
  try {
    const one = Buffer.alloc(1)
    await fh.read(one, 0, 1, offset)
    one[0] ^= mask
    await fh.write(one, 0, 1, offset)
  } finally {
    await fh.close()
  }
}
