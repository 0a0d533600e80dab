// Blobs written without an fsync each, made durable together before anything that relies on them
// is acknowledged: a folder's put writes thousands of small blobs, and two fsyncs per blob (file
// and folder) bound it at a few hundred files/s, far below `tar`. One syncfs(2) of the store's file
// system (`sync -f`, coreutils) makes every one of them durable at once; where that is not
// available or fails, each file and folder is fsynced, many at once, which also reports the error.
import { execFile } from 'node:child_process'
import { open } from 'node:fs/promises'
import { dirname } from 'node:path'
import { VaultError, toVaultError } from '../errors.ts'

/** What a batch tells its store: these paths are durable now. */
export interface UnsyncedPaths {
  add: (path: string) => void
  synced: (paths: Iterable<string>) => void
}

/** fsyncs at once in the fallback (the libuv pool runs 4; more queue there, never on our side). */
const FSYNCS_AT_ONCE = 16

/** A flush starts in the background once this much is written and none is running: the disk
 * writes while the put goes on sealing, instead of all of it at the end (the kernel would hold it
 * dirty up to dirty_background_ratio, gigabytes on a big machine). */
const BACKGROUND_FLUSH_BYTES = 128 * 1024 * 1024
const BACKGROUND_FLUSH_BLOBS = 4096

export class SyncBatch {
  private paths = new Set<string>()
  private bytes = 0
  private chain: Promise<void> = Promise.resolve()
  private background: Promise<void> | undefined
  private failure: unknown
  private readonly root: string
  private readonly tracker: UnsyncedPaths

  /** `root`: a folder on the file system of every path this batch will hold (the store's root). */
  constructor (root: string, tracker: UnsyncedPaths) {
    this.root = root
    this.tracker = tracker
  }

  /** Blobs written (or found) since the last flush began, not yet known durable. */
  get pending (): number {
    return this.paths.size
  }

  /**
   * A blob file of `bytes` at `path` was renamed into place without fsync, or found there not yet
   * durable. Past BACKGROUND_FLUSH_* a flush starts in the background (its failure is `flush()`'s).
   */
  note (path: string, bytes = 0): void {
    if (this.paths.has(path)) return
    this.paths.add(path)
    this.tracker.add(path)
    this.bytes += bytes
    if (this.background === undefined && (this.bytes >= BACKGROUND_FLUSH_BYTES || this.paths.size >= BACKGROUND_FLUSH_BLOBS)) {
      this.background = this.flushNoted().catch((err: unknown) => { this.failure ??= err }).finally(() => { this.background = undefined })
    }
  }

  /** Resolves when every blob noted before this call is durable; rejects (DISK_FULL, IO…) when one cannot be. */
  async flush (): Promise<void> {
    await this.flushNoted()
    if (this.failure !== undefined) throw this.failure
  }

  private async flushNoted (): Promise<void> {
    const paths = this.paths
    this.paths = new Set()
    this.bytes = 0
    const run = this.chain.then(async () => {
      if (paths.size === 0) return
      await syncPaths(this.root, paths)
      this.tracker.synced(paths)
    })
    this.chain = run.catch(() => {})
    await run
  }
}

async function syncPaths (root: string, paths: Set<string>): Promise<void> {
  // Tried on every flush (a failed spawn costs ~1 ms): PATH may change, and a flush is rare.
  if (await syncfs(root)) return
  const targets = [...paths, ...new Set([...paths].map(p => dirname(p)))]
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < targets.length) await fsyncPath(targets[next++])
  }
  await Promise.all(Array.from({ length: Math.min(FSYNCS_AT_ONCE, targets.length) }, worker))
}

/**
 * One syncfs(2) of the file system holding `path`. False when there is no `sync -f` to run (then
 * the caller fsyncs each file). A syncfs that ran and failed is a write error: it is thrown, not
 * retried file by file, because a file opened after the error may no longer report it.
 */
async function syncfs (path: string): Promise<boolean> {
  return await new Promise((resolve, reject) => {
    execFile('sync', ['-f', path], { timeout: 600_000 }, (err, _stdout, stderr) => {
      if (err === null) { resolve(true); return }
      const spawnFailed = typeof (err as NodeJS.ErrnoException).code === 'string' // ENOENT, EACCES: never ran
      if (spawnFailed || /invalid option|unrecognized option|usage/i.test(stderr)) { resolve(false); return }
      if (/no space|quota/i.test(stderr)) reject(new VaultError('DISK_FULL', 'the disk is full', { cause: err }))
      else reject(new VaultError('INTERNAL', `could not make the stored blobs durable: ${stderr.trim() || err.message}`, { cause: err }))
    })
  })
}

/** fsync of one file or folder; a file deleted meanwhile is fine (nothing relies on it any more). */
export async function fsyncPath (path: string): Promise<void> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return // deleted since: nothing relies on it
    throw toVaultError(err)
  }
  try {
    await fh.sync()
  } catch (err) {
    // Some file systems refuse fsync on folders; a file's fsync failing is a real write error.
    if (!(await fh.stat()).isDirectory()) throw toVaultError(err)
  } finally {
    await fh.close()
  }
}
