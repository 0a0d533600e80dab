// get of a folder on the node's own machine: its listing is read and checked entry by entry
// (tree-listing.ts), and the tree is built in a temp folder beside the target, renamed into place
// once complete: a failure leaves nothing half-restored. Nothing is written outside it whatever the
// listing says: every path is checked, an entry's parent must be a folder this restore made (never
// a link), and files and links are created exclusively (an existing name is never followed).
import { chmod, lstat, lutimes, mkdir, open, readdir, rename, rm, symlink, utimes } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join } from 'node:path'
import { VaultError, errnoCode } from '../errors.ts'
import { TaskWindow } from '../concurrency/index.ts'
import type { VaultContext } from './vault-context.ts'
import { NAME_MAX_BYTES, tempPathBeside } from './local-file.ts'
import type { Manifest } from './manifest.ts'
import { writeFileAt } from './read.ts'
import { entryChunks, parentOf, type TreeEntry } from './tree-listing.ts'
import { ownTreeEntries } from './tree-put.ts'

/** Permission bits and the sticky bit; never set-user-ID or set-group-ID: a folder shared by a
 * capability must not become a set-ID program of whoever restores it (a node running as root). */
const SAFE_MODE_BITS = 0o1777

/** Files being written at once (each also writes several chunks at once). */
const FILES_IN_FLIGHT = 16

export interface TreeRestoreResult { files: number, size: number, path: string }

export async function restoreTree (ctx: VaultContext, owner: string, manifest: Manifest, target: string, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<TreeRestoreResult> {
  if (!isAbsolute(target)) throw new VaultError('BAD_INPUT', `the path must be absolute: ${target}`)
  if (Buffer.byteLength(basename(target)) > NAME_MAX_BYTES) throw new VaultError('BAD_INPUT', `the folder name is too long for this file system: ${basename(target).slice(0, 40)}…`)
  const parent = await lstat(dirname(target)).catch(() => null)
  if (parent === null || !parent.isDirectory()) throw new VaultError('NOT_FOUND', `the node finds no folder ${dirname(target)}`)
  if (await lstat(target).then(() => true, () => false)) throw new VaultError('ALREADY_EXISTS', `${target} already exists; choose another place with -o DIR`)
  const tmp = tempPathBeside(target)
  await mkdir(tmp, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (errnoCode(err) === 'FORBIDDEN') throw new VaultError('FORBIDDEN', `the node may not write in ${dirname(target)}`)
    throw err
  })
  const inflight = new TaskWindow({ tasks: FILES_IN_FLIGHT })
  let done = 0
  let files = 0
  const drain = async (): Promise<void> => {
    await inflight.settled()
    inflight.throwIfFailed()
  }
  // Folders whose entries are being written: their mode and mtime are set once they are complete.
  const open_: TreeEntry[] = []
  const close = async (dir: TreeEntry): Promise<void> => {
    await drain()
    const at = join(tmp, dir.path)
    await chmod(at, dir.mode & SAFE_MODE_BITS)
    await utimes(at, dir.mtime / 1000, dir.mtime / 1000)
  }
  try {
    for await (const entry of ownTreeEntries(ctx, owner, manifest, signal)) {
      if (signal?.aborted === true) throw new VaultError('TRUNCATED', 'the client went away before the folder was written')
      inflight.throwIfFailed()
      if (entry.path === '') { open_.push(entry); continue }
      // The listing's order puts an entry right after its folder's earlier entries (parseListing
      // checked its parent is a listed folder): close the folders it is no longer inside.
      while (open_.length > 0 && open_[open_.length - 1].path !== parentOf(entry.path)) await close(open_.pop()!)
      const at = join(tmp, entry.path)
      if (entry.type === 'dir') {
        await mkdir(at, { mode: 0o700 })
        open_.push(entry)
      } else if (entry.type === 'symlink') {
        await symlink(entry.target!, at)
        await lutimes(at, entry.mtime / 1000, entry.mtime / 1000).catch(() => {})
      } else {
        files++
        inflight.track(writeOne(ctx, owner, entry, at, signal, (n) => { done += n; onProgress?.(done) }))
        await inflight.room()
      }
    }
    while (open_.length > 0) await close(open_.pop()!)
    await drain()
    // Checked again: something may have appeared there while the folder was written.
    if (await lstat(target).then(() => true, () => false)) throw new VaultError('ALREADY_EXISTS', `${target} already exists; choose another place with -o DIR`)
    await rename(tmp, target)
  } catch (err) {
    await inflight.settled()
    await removeTree(tmp)
    throw err
  }
  return { files, size: manifest.size, path: target }
}

async function writeOne (ctx: VaultContext, owner: string, entry: TreeEntry, at: string, signal: AbortSignal | undefined, progress: (bytes: number) => void): Promise<void> {
  // 'wx': created here, never an existing file or a link followed.
  const fh = await open(at, 'wx', 0o600)
  try {
    let last = 0
    await writeFileAt(ctx, owner, { chunks: entryChunks(entry) }, fh.fd, signal, (n) => { progress(n - last); last = n })
  } finally {
    await fh.close()
  }
  await chmod(at, entry.mode & SAFE_MODE_BITS)
  await utimes(at, entry.mtime / 1000, entry.mtime / 1000)
}

/** Removes a half-written tree, read-only folders in it included. */
async function removeTree (dir: string): Promise<void> {
  const makeWritable = async (path: string): Promise<void> => {
    const info = await lstat(path).catch(() => null)
    if (info === null || !info.isDirectory()) return
    await chmod(path, 0o700).catch(() => {})
    for (const name of await readdir(path).catch(() => [])) await makeWritable(join(path, name))
  }
  await makeWritable(dir)
  await rm(dir, { recursive: true, force: true }).catch(() => {})
}
