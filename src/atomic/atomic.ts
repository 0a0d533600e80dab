// Atomic file replacement, the one way every writer puts a file in place: write a temp file beside
// the target, fsync it, rename it over, fsync the folder. A crash leaves either the old file or the
// new one, never a torn one; a failure leaves no temp file behind.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { open, rename, rm, mkdir, utimes, type FileHandle } from 'node:fs/promises'
import { dirname, join, basename } from 'node:path'
import { randomBytes } from 'node:crypto'

/** A file being written beside its target, put in place whole (commit) or not at all (discard). */
export interface AtomicFile {
  /** The temp file's path (an error message may name it). */
  tmp: string
  handle: FileHandle
  /**
   * fsync, rename over the target, fsync the folder; then the mtime, if given (best effort). A
   * write stream on `handle` closes it when done: give it `flush: true`, which fsyncs first.
   */
  commit: (mtime?: Date) => Promise<void>
  /** Closes and removes the temp file; safe to call after a failed commit. */
  discard: () => Promise<void>
}

export interface AtomicFileOptions {
  /** The temp file's path (default: a hidden random name beside the target). */
  tmp?: string
  mode?: number
  /** Create the temp file's folder if missing (default true); false refuses a missing folder (ENOENT). */
  createDir?: boolean
  /** false: commit fsyncs neither the file nor its folder (the caller makes them durable later, in a batch). */
  sync?: boolean
}

function defaultTemp (path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
}

/** Opens a new temp file for `target`, exclusively ('wx': never an existing file or a followed link). */
export async function createAtomicFile (target: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
  const dir = dirname(target)
  if (options.createDir !== false) await mkdir(dir, { recursive: true })
  const tmp = options.tmp ?? defaultTemp(target)
  const handle = await open(tmp, 'wx', options.mode ?? 0o644)
  let closed = false
  // A write stream on the handle (autoClose) may have closed it already: fd is -1 then.
  const close = async (): Promise<void> => {
    if (closed || handle.fd === -1) return
    closed = true
    await handle.close()
  }
  return {
    tmp,
    handle,
    commit: async (mtime) => {
      if (handle.fd !== -1 && options.sync !== false) await handle.sync()
      await close()
      await rename(tmp, target)
      if (options.sync !== false) await fsyncDir(dir)
      if (mtime !== undefined) await utimes(target, mtime, mtime).catch(() => {})
    },
    discard: async () => {
      await close().catch(() => {})
      await rm(tmp, { force: true })
    }
  }
}

export async function writeFileAtomic (path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const file = await createAtomicFile(path, { mode })
  try {
    await file.handle.writeFile(data)
    await file.commit()
  } catch (err) {
    await file.discard()
    throw err
  }
}

/** The same steps with synchronous calls, for a worker thread that may block (one hop per blob). */
/** `sync` false: no fsync of the file or its folder (the caller makes them durable later, in a batch). */
export function writeFileAtomicSync (tmp: string, target: string, data: Uint8Array, sync = true): void {
  try {
    const fd = openSync(tmp, 'w', 0o600)
    try {
      for (let at = 0; at < data.byteLength;) at += writeSync(fd, data, at, data.byteLength - at)
      if (sync) fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    const dir = dirname(target)
    mkdirSync(dir, { recursive: true })
    renameSync(tmp, target)
    if (sync) fsyncDirSync(dir)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw err
  }
}

export async function fsyncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  } finally {
    await fh.close()
  }
}

function fsyncDirSync (dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } catch {
    // As above.
  } finally {
    closeSync(fd)
  }
}
