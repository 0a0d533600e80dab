// Writing one blob file, synchronously, for a worker thread (workers/): the same steps as
// BlobStore's async path — skip if an intact copy is there, else temp file, write, fsync, rename
// over, fsync the folder — but in one job, without an event-loop round trip between the steps.
import { readFileSync, statSync, writeSync } from 'node:fs'
import { writeFileAtomicSync } from '../atomic/index.ts'
import { sha256Hex } from '../crypto/index.ts'
import { release } from '../buffers/index.ts'

/** What was at the target before: an intact copy (nothing written), nothing, or a damaged copy of that size. */
export interface BlobOnDisk { found: 'intact' | 'missing' | number }

/** `sync` false: no fsync of the file or its folder (a SyncBatch makes it durable later). */
export function writeBlobSync (tmp: string, target: string, id: string, data: Uint8Array, sync = true): BlobOnDisk {
  const found = onDiskSync(target, id, data.byteLength)
  if (found === 'intact') return { found }
  writeFileAtomicSync(tmp, target, data, sync)
  return { found }
}

/** A blob file's bytes, unchecked, or undefined if there is none (the caller verifies them). */
export function readBlobSync (path: string): Buffer | undefined {
  try {
    return readFileSync(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Writes all of `data` to `fd` at `position` (pwrite: several writers may fill one file at once). */
export function writeAllAtSync (fd: number, data: Uint8Array, position: number): void {
  for (let at = 0; at < data.byteLength;) at += writeSync(fd, data, at, data.byteLength - at, position + at)
}

/** Whether a blob file is already there and good; else the size of the damaged copy it replaces. */
export function onDiskSync (path: string, id: string, size: number): BlobOnDisk['found'] {
  let found: number
  try {
    found = statSync(path).size
  } catch {
    return 'missing'
  }
  if (found !== size) return found
  let existing: Buffer | undefined
  try {
    existing = readFileSync(path)
    return sha256Hex(existing) === id ? 'intact' : found
  } catch {
    return found
  } finally {
    // A worker's heap is tiny, so it collects rarely: free the copy now, not 64 MiB of them later.
    if (existing !== undefined) release(existing)
  }
}
