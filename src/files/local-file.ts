// Reading a file that is on the node's own machine, for `put` when the CLI and the node share one:
// the node reads the path itself instead of receiving the bytes over HTTP. That skips a copy through
// two processes and the HTTP stack (a third of a put's CPU on 2 cores, docs/PERFORMANCE.md); the
// bytes then take exactly the same path as an upload (chunker, sealing, store).
import { open, type FileHandle } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
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
