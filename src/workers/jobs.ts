// The jobs a byte worker does, as plain messages, and how one is done. Shared by the worker
// (worker.ts) and the pool's inline path (small inputs, or no workers), so both give exactly the
// same results. Imports crypto/ and store/ modules directly, not their index files: those
// subsystems use this pool, and their index files would make the import graph a cycle.
import { openChunkSync, sealChunkSync, sha256HexSync, type SealedChunk } from '../crypto/chunk-cipher.ts'
import { readBlobSync, writeAllAtSync, writeBlobSync, type BlobOnDisk } from '../store/blob-file.ts'
import { VaultError } from '../errors.ts'
import { asBuffer, movable, release } from './buffers.ts'

export type WorkerJob =
  | { op: 'seal', vaultKey: Uint8Array, data: Uint8Array }
  | { op: 'open', id: string, key: string, hashVerified: boolean, data: Uint8Array }
  | { op: 'sha256', data: Uint8Array, giveBack?: boolean }
  | { op: 'writeBlob', id: string, tmp: string, target: string, data: Uint8Array, sync?: boolean }
  | { op: 'openToFile', id: string, key: string, size: number, blobPath: string, fd: number, position: number }

export interface WorkerResults {
  seal: SealedChunk
  open: Buffer
  sha256: { hex: string, data: Buffer }
  writeBlob: BlobOnDisk
  /** ok: written; missing / corrupt: the local copy is not there or fails its hash (fetch it elsewhere). */
  openToFile: { status: 'ok' | 'missing' | 'corrupt' }
}

export type ResultOf<J extends WorkerJob> = WorkerResults[J['op']]

/** Does `job`; returns its result and the buffers in it that can move back without a copy. */
export function performJob (job: WorkerJob): { result: WorkerResults[WorkerJob['op']], transfer: ArrayBuffer[] } {
  switch (job.op) {
    case 'seal': {
      const chunk = sealChunkSync(job.vaultKey, job.data)
      return { result: chunk, transfer: movable(chunk.sealed) }
    }
    case 'open': {
      const plain = openChunkSync(job.id, job.key, job.data, job.hashVerified)
      return { result: plain, transfer: movable(plain) }
    }
    case 'sha256': {
      const data = job.giveBack === true ? asBuffer(job.data) : Buffer.alloc(0)
      return { result: { hex: sha256HexSync(job.data), data }, transfer: movable(data) }
    }
    case 'writeBlob':
      return { result: writeBlobSync(job.tmp, job.target, job.id, job.data, job.sync !== false), transfer: [] }
    case 'openToFile':
      return { result: { status: openToFileSync(job) }, transfer: [] }
  }
}

/**
 * get to a file on the node's machine: one local chunk read, checked (hash, then tag), decrypted
 * and written at its place in the output file, all in the worker: no byte crosses threads.
 */
function openToFileSync (job: Extract<WorkerJob, { op: 'openToFile' }>): 'ok' | 'missing' | 'corrupt' {
  const sealed = readBlobSync(job.blobPath)
  if (sealed === undefined) return 'missing'
  try {
    if (sha256HexSync(sealed) !== job.id) return 'corrupt'
    const plain = openChunkSync(job.id, job.key, sealed, true)
    try {
      if (plain.length !== job.size) throw new VaultError('CORRUPT', `chunk ${job.id.slice(0, 12)}… has the wrong size`)
      writeAllAtSync(job.fd, plain, job.position)
    } finally {
      release(plain)
    }
  } finally {
    release(sealed)
  }
  return 'ok'
}

/** The job's input buffer, if the worker is done with it once the job is (it may free it then). */
export function spentInput (job: WorkerJob): Uint8Array | undefined {
  if (job.op === 'openToFile' || (job.op === 'sha256' && job.giveBack === true)) return undefined
  return job.data
}
