// Files on the node's own machine, for `put` and `get -o PATH` when the CLI and the node share one:
// the node reads or writes the path itself instead of moving the bytes over HTTP. That skips a copy
// through a second process and the HTTP stack (a third of a put's CPU on 2 cores, and half of a
// get's, docs/PERFORMANCE.md). A put's bytes then take exactly the path of an upload; a get's are
// written in place by the workers (read.ts, writeFileAt).
import { randomBytes } from 'node:crypto'
import { open, rename, rm, stat, utimes, type FileHandle } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join } from 'node:path'
import { VaultError, toVaultError } from '../errors.ts'

/** Reads of 1 MiB: few system calls, and each read is a buffer of its own the chunker can keep. */
const READ_BYTES = 1024 * 1024

export interface LocalFile {
  size: number
  mtime: Date
  /** The bytes, read once from start to end; ends early (and `put` fails TRUNCATED) if the file shrinks. */
  bytes: AsyncGenerator<Buffer>
  close: () => Promise<void>
}

/** Opens `path` for reading. Errors say what the node could not do, with the codes the CLI acts on. */
export async function openLocalFile (path: string): Promise<LocalFile> {
  if (!isAbsolute(path)) throw new VaultError('BAD_INPUT', `the path must be absolute: ${path}`)
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new VaultError('NOT_FOUND', `the node finds no file at ${path}`)
    if (code === 'EACCES' || code === 'EPERM') throw new VaultError('FORBIDDEN', `the node may not read ${path}`)
    throw toVaultError(err)
  }
  try {
    const info = await fh.stat()
    if (!info.isFile()) throw new VaultError('BAD_INPUT', `${path} is not a regular file`)
    return { size: info.size, mtime: info.mtime, bytes: readAll(fh), close: async () => await fh.close() }
  } catch (err) {
    await fh.close()
    throw err
  }
}

/** Reads the file in order, one read always in flight ahead of the consumer (disk and chunker overlap). */
async function * readAll (fh: FileHandle): AsyncGenerator<Buffer> {
  const readNext = async (): Promise<Buffer> => {
    const buffer = Buffer.allocUnsafe(READ_BYTES)
    const { bytesRead } = await fh.read(buffer, 0, READ_BYTES, null)
    return bytesRead === READ_BYTES ? buffer : buffer.subarray(0, bytesRead)
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
  const dir = dirname(target)
  const info = await stat(dir).catch(() => null)
  if (info === null || !info.isDirectory()) throw new VaultError('NOT_FOUND', `the node finds no folder ${dir}`)
  const tmp = join(dir, `.${basename(target)}.${randomBytes(4).toString('hex')}.part`)
  let fh: FileHandle
  try {
    fh = await open(tmp, 'wx')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new VaultError('FORBIDDEN', `the node may not write in ${dir}`)
    throw toVaultError(err)
  }
  return {
    fd: fh.fd,
    commit: async (mtime) => {
      await fh.close()
      await rename(tmp, target)
      await utimes(target, mtime, mtime).catch(() => {})
    },
    discard: async () => {
      await fh.close().catch(() => {})
      await rm(tmp, { force: true })
    }
  }
}
