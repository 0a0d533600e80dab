// Files on the node's own machine, for `put` and `get -o PATH` when the CLI and the node share one:
// the node reads or writes the path itself instead of moving the bytes over HTTP. That skips a copy
// through a second process and the HTTP stack (a third of a put's CPU on 2 cores, and half of a
// get's, docs/PERFORMANCE.md). A put's bytes then take exactly the path of an upload; a get's are
// written in place by the workers (read.ts, writeFileAt).
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { open, readlink, stat, type FileHandle } from 'node:fs/promises'
import { basename, dirname, extname, isAbsolute, join } from 'node:path'
import { VaultError, errnoCode, toVaultError } from '../errors.ts'
import { createAtomicFile, type AtomicFile } from '../atomic/index.ts'

/** Reads of 1 MiB: few system calls, and each read is a buffer of its own the chunker can keep. */
const READ_BYTES = 1024 * 1024

export interface LocalFile {
  size: number
  mtime: Date
  /** The bytes, read once from start to end; ends early (and `put` fails TRUNCATED) if the file shrinks. */
  bytes: AsyncGenerator<Buffer>
  close: () => Promise<void>
}

/** A file as a walk found it (lstat), and its real path (the walk's root resolved, then the
 * entry's path): what an open must still find there. */
export interface FileIdentity { dev: number, ino: number, realPath?: string }

/**
 * Opens `path` for reading. Errors say what the node could not do, with the codes the CLI acts on.
 * `expected`: the file a folder walk found there (never followed a link): an open that reaches
 * another file (the entry replaced since, by a link to a file of the node's user say, or a folder
 * on its path swapped for a link) is refused rather than stored under the walked entry's name.
 */
export async function openLocalFile (path: string, readBytes = READ_BYTES, expected?: FileIdentity): Promise<LocalFile> {
  if (!isAbsolute(path)) throw new VaultError('BAD_INPUT', `the path must be absolute: ${path}`)
  // Only a regular file: open() of a FIFO waits for a writer forever (holding one of libuv's four
  // disk threads), and a device or socket is no file to store. Checked before opening (a device's
  // open may have effects), then again on the open handle, which cannot change under us; O_NONBLOCK
  // makes an open that raced with a swap to a FIFO return at once instead of blocking.
  const info = await stat(path).catch((err: unknown) => { throw localPathError(err, path, 'read') })
  if (!info.isFile()) throw notRegular(path)
  let fh: FileHandle
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (err) {
    throw localPathError(err, path, 'read')
  }
  try {
    const opened = await fh.stat()
    if (!opened.isFile()) throw notRegular(path)
    if (expected !== undefined && (opened.dev !== expected.dev || opened.ino !== expected.ino || !await openedAt(fh, expected.realPath))) {
      throw new VaultError('BAD_INPUT', `the folder changed while it was stored: ${path} is no longer the file found there (replaced, or reached through a link)`)
    }
    return { size: opened.size, mtime: opened.mtime, bytes: readAll(fh, readBytes), close: async () => await fh.close() }
  } catch (err) {
    await fh.close()
    throw err
  }
}

/**
 * Whether the open file is the one at `realPath`, by the path the kernel gives its descriptor
 * (Linux's /proc/self/fd): a folder on the path swapped for a link before the walk read it makes
 * the walk see, and the open reach, the link's target, whose identity the walk's lstat then
 * matched. True where the kernel does not say (no /proc) or nothing is expected.
 */
async function openedAt (fh: FileHandle, realPath: string | undefined): Promise<boolean> {
  if (realPath === undefined) return true
  const actual = await readlink(`/proc/self/fd/${fh.fd}`).catch(() => undefined)
  return actual === undefined || actual === realPath
}

function notRegular (path: string): VaultError {
  return new VaultError('BAD_INPUT', `${path} is not a regular file (a folder, FIFO, socket or device is refused)`)
}

/** The file system's refusals, as the codes the CLI acts on (NOT_FOUND and FORBIDDEN: it streams instead). */
function localPathError (err: unknown, path: string, what: 'read' | 'write' | 'write in'): VaultError {
  const code = errnoCode(err, { userPath: true })
  if (code === 'NOT_FOUND') return new VaultError(code, `the node finds no file at ${path}`)
  if (code === 'FORBIDDEN') return new VaultError(code, `the node may not ${what} ${path}`)
  if (code === 'BAD_INPUT') {
    // The code is the table's; only the words depend on which refusal it was.
    const errno = (err as NodeJS.ErrnoException).code
    if (errno === 'ENAMETOOLONG') return new VaultError(code, `the path is too long for this file system: ${path.slice(0, 80)}…`)
    if (errno === 'ELOOP') return new VaultError(code, `too many symbolic links in ${path}`)
  }
  return toVaultError(err)
}

/** Longest name (bytes in one path component) of the usual file systems: ext4, XFS, Btrfs, tmpfs, APFS. */
export const NAME_MAX_BYTES = 255

/**
 * `name` (one path component) cut to at most `maxBytes` bytes of UTF-8, keeping its extension
 * when that is short, and never splitting a character. Shorter names come back unchanged.
 */
export function fitFileName (name: string, maxBytes = NAME_MAX_BYTES): string {
  if (Buffer.byteLength(name) <= maxBytes) return name
  const ext = extname(name)
  const keep = ext.length > 1 && Buffer.byteLength(ext) <= 32 ? ext : ''
  let stem = ''
  let bytes = Buffer.byteLength(keep)
  for (const char of name.slice(0, name.length - keep.length)) {
    bytes += Buffer.byteLength(char)
    if (bytes > maxBytes) break
    stem += char
  }
  return stem + keep
}

/** A fresh temp file name beside `target` (`.NAME.RANDOM.part`), itself short enough to create. */
export function tempPathBeside (target: string): string {
  const suffix = `.${randomBytes(4).toString('hex')}.part`
  return join(dirname(target), `.${fitFileName(basename(target), NAME_MAX_BYTES - 1 - suffix.length)}${suffix}`)
}

/** Reads the file in order, one read always in flight ahead of the consumer (disk and chunker overlap). */
async function * readAll (fh: FileHandle, readBytes: number): AsyncGenerator<Buffer> {
  const readNext = async (): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafeSlow(readBytes)
    const { bytesRead } = await fh.read(buffer, 0, readBytes, null)
    return bytesRead === readBytes ? buffer : buffer.subarray(0, bytesRead)
  }
  let next = readNext()
  try {
    for (;;) {
      const current = await next
      if (current.length === 0) return
      next = readNext()
      yield current
    }
  } finally {
    await next.catch(() => {}) // never leave a read running on a handle about to be closed
  }
}

/**
 * A file about to be written at `target` on the node's own machine, as `get -o PATH` does on the
 * CLI's side: a temp file beside it, renamed over `target` once complete (a failure leaves nothing
 * half-written), with the file's mtime. The temp file is created here, before any byte is sent, so
 * a path the node may not write to is refused up front (and the CLI can fall back to streaming).
 */
export interface LocalTarget {
  /** The temp file's descriptor: writers place their bytes by position. */
  fd: number
  /** Renames the complete temp file into place and sets its mtime. */
  commit: (mtime: Date) => Promise<void>
  /** Drops the temp file (the write failed or was abandoned). */
  discard: () => Promise<void>
}

export async function createLocalFile (target: string): Promise<LocalTarget> {
  if (!isAbsolute(target)) throw new VaultError('BAD_INPUT', `the path must be absolute: ${target}`)
  if (Buffer.byteLength(basename(target)) > NAME_MAX_BYTES) throw new VaultError('BAD_INPUT', `the file name is too long for this file system (over ${NAME_MAX_BYTES} bytes): ${basename(target).slice(0, 40)}…`)
  const dir = dirname(target)
  const info = await stat(dir).catch(() => null)
  if (info === null || !info.isDirectory()) throw new VaultError('NOT_FOUND', `the node finds no folder ${dir}`)
  // Replace only a regular file: never a folder, FIFO, socket or device (the temp file below is
  // the node's own, created exclusively, so nothing else is ever opened for writing).
  const existing = await stat(target).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw localPathError(err, target, 'write')
  })
  if (existing !== null && !existing.isFile()) throw notRegular(target)
  let file: AtomicFile
  try {
    file = await createAtomicFile(target, { tmp: tempPathBeside(target), createDir: false })
  } catch (err) {
    const e = localPathError(err, dir, 'write in')
    throw e.code === 'NOT_FOUND' ? new VaultError('NOT_FOUND', `the node finds no folder ${dir}`) : e
  }
  return { fd: file.handle.fd, commit: file.commit, discard: file.discard }
}
