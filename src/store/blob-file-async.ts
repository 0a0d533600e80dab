// Writing one blob file from the main thread, straight from a buffer the caller keeps using (a
// holder forwarding a chained copy, an owner sending its own blob): the same steps as
// writeBlobSync (blob-file.ts) — skip if an intact copy is there, else the one atomic write
// (atomic/: temp file, write, fsync, rename over, fsync the folder) — through node:fs/promises,
// whose writes run on libuv's threads from the very buffer given. A worker job would need its own
// copy of bytes the caller still reads.
import { readFile, stat, type FileHandle } from 'node:fs/promises'
import { createAtomicFile } from '../atomic/index.ts'
import { byteLength, release } from '../buffers/index.ts'
import { sha256Keep } from '../crypto/index.ts'
import type { BlobOnDisk } from './blob-file.ts'

/** `sync` false: no fsync of the file or its folder (a SyncBatch makes it durable later). Never
 * writes into or keeps `data`, which may be the pieces the blob arrived in (written with writev,
 * never joined). */
export async function writeBlobShared (tmp: string, target: string, id: string, data: Uint8Array | readonly Uint8Array[], sync = true): Promise<BlobOnDisk['found']> {
  const found = await onDisk(target, id, byteLength(data))
  if (found === 'intact') return found
  const file = await createAtomicFile(target, { tmp, mode: 0o600, sync })
  try {
    if (data instanceof Uint8Array) {
      for (let at = 0; at < data.byteLength;) at += (await file.handle.write(data, at, data.byteLength - at)).bytesWritten
    } else {
      await writeAllv(file.handle, data)
    }
    await file.commit()
  } catch (err) {
    await file.discard()
    throw err
  }
  return found
}

/** Whether a blob file is already there and good; else the size of the damaged copy it replaces. */
async function onDisk (path: string, id: string, size: number): Promise<BlobOnDisk['found']> {
  let found: number
  try {
    found = (await stat(path)).size
  } catch {
    return 'missing'
  }
  if (found !== size) return found
  try {
    const checked = await sha256Keep(await readFile(path))
    release(checked.data)
    return checked.hex === id ? 'intact' : found
  } catch {
    return found
  }
}

/** Writes every piece, in order, with as few writev calls as the kernel allows (a short write resumes). */
async function writeAllv (handle: FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  let left = pieces.filter(piece => piece.byteLength > 0)
  while (left.length > 0) {
    let written = (await handle.writev(left)).bytesWritten
    if (written === 0) throw new Error('writev wrote nothing')
    let i = 0
    while (i < left.length && written >= left[i].byteLength) written -= left[i++].byteLength
    left = left.slice(i)
    if (written > 0) left[0] = left[0].subarray(written)
  }
}
