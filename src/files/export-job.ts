// files' job on the worker pool (workers/): a get to a file on the node's machine. One local chunk
// is read, checked (hash, then tag), decrypted and written at its place in the output file, all in
// the worker: no byte crosses threads.
import { defineJob, type JobInput } from '../workers/index.ts'
import { release } from '../buffers/index.ts'
import { openChunkSync, sha256Hex } from '../crypto/index.ts'
import { readBlobSync, writeAllAtSync } from '../store/index.ts'
import { VaultError } from '../errors.ts'

export interface OpenToFile extends JobInput { id: string, key: string, size: number, blobPath: string, fd: number, position: number }

/** ok: written; missing / corrupt: the local copy is not there or fails its hash (fetch it elsewhere). */
export type OpenToFileStatus = 'ok' | 'missing' | 'corrupt'

export const openToFileJob = defineJob({
  name: 'files.openToFile',
  module: import.meta.url,
  onDisk: true,
  perform: (input: OpenToFile) => ({ result: { status: openToFileSync(input) }, transfer: [] })
})

function openToFileSync (job: OpenToFile): OpenToFileStatus {
  const sealed = readBlobSync(job.blobPath)
  if (sealed === undefined) return 'missing'
  try {
    if (sha256Hex(sealed) !== job.id) return 'corrupt'
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
