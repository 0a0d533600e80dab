// Scrub: re-reads every blob on this node's disk and checks it against its ID (SHA-256), at a
// capped read rate so a background pass never competes with puts and gets for the disk.
import { setTimeout as sleep } from 'node:timers/promises'
import { sha256Keep } from '../crypto/index.ts'
import type { BlobStore } from './blob-store.ts'

export interface ScrubbedBlob {
  owner: string
  id: string
  bytes: number
  /** False when the bytes on disk no longer hash to the blob's ID. */
  intact: boolean
}

export interface VerifyOptions {
  /** Read-rate cap; 0 or Infinity: as fast as the disk goes. */
  bytesPerSecond?: number
  signal?: AbortSignal
}

/** Every blob of every owner folder, verified, one at a time (one blob in memory). */
export async function * verifyBlobs (store: BlobStore, options: VerifyOptions = {}): AsyncGenerator<ScrubbedBlob> {
  const rate = options.bytesPerSecond ?? 0
  const started = Date.now()
  let total = 0
  for (const owner of await store.owners()) {
    for await (const id of store.list(owner)) {
      options.signal?.throwIfAborted()
      const data = await store.getUnverified(owner, id)
      if (data === undefined) continue // deleted while we walked
      const bytes = data.byteLength
      const intact = (await sha256Keep(data)).hex === id // the buffer moves to the worker, uncopied
      total += bytes
      yield { owner, id, bytes, intact }
      // Pace to the cap: wait until the bytes read so far fit in the time spent.
      if (rate > 0 && Number.isFinite(rate)) {
        const aheadMs = total / rate * 1000 - (Date.now() - started)
        if (aheadMs > 1) await sleep(aheadMs, undefined, { signal: options.signal })
      }
    }
  }
}
