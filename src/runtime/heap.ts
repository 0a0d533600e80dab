// Keeping a streaming process's memory flat and its CPU on real work.
//
// A put or get moves hundreds of megabytes a second through short-lived buffers that live outside
// the JS heap (socket reads, file reads, chunks, sealed blobs). V8 frees such a buffer only when it
// collects the small JS object that owns it, and it starts a full collection ("external memory
// pressure") every ~64 MiB of them: each one marks the whole heap (tens of MB of libp2p and
// friends) on every core. Measured on 2 cores: 26 full collections during a 256 MiB put, a third of
// its CPU, and the buffers still pile up between them (docs/PERFORMANCE.md).
//
// So the data paths report the bytes they stream (`noteStreamed`), and every STEP bytes a
// young-generation collection (a scavenge: well under a millisecond, it only visits live young
// objects) frees the buffers that died young, which is nearly all of them. Fewer full collections,
// and RSS stays flat. (Tried and rejected: counting external memory in V8's global limit
// (--external-memory-accounted-in-global-limit) was faster still but let RSS grow past the 256 MiB
// budget; forcing full collections now and then flushes compiled code and halved throughput.)
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const STEP = 8 * 1024 * 1024

type Collect = (options: { type: 'minor' | 'major', execution?: 'sync' | 'async' }) => void

let collect: Collect | undefined
let since = 0

/** Node processes call this once at start; `DV_HEAP_TUNING=0` leaves V8 alone. */
export function tuneHeapForStreaming (): void {
  if (collect !== undefined || process.env.DV_HEAP_TUNING === '0') return
  // `gc` from a fresh context: the collector becomes callable without a global `gc` in ours.
  setFlagsFromString('--expose-gc')
  collect = runInNewContext('gc') as Collect
}

/** Called by the data paths with the bytes they just moved; frees dead young buffers every STEP. */
export function noteStreamed (bytes: number): void {
  if (collect === undefined) return
  since += bytes
  if (since < STEP) return
  since = 0
  collect({ type: 'minor' })
}
