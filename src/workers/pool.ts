// The worker pool: a few worker threads that do the heavy byte jobs (sealing, opening, hashing,
// writing blobs) of the subsystems that define them (workers/jobs.ts), so a put or a get uses every
// core while the main thread chunks, serves HTTP and talks to peers.
//
// Why threads of our own and not WebCrypto (which also runs on a thread pool): WebCrypto copies
// every input and output buffer, and on a 2-core machine those copies and the garbage they make
// cost more CPU than the hashing itself. Here a buffer the caller gives up (`consume`) moves to a
// worker and back without a copy. Small CPU jobs are done inline: a message costs more than they do;
// jobs that wait on the disk never are.
//
// Workers are started on first use, kept unref'd while idle (they never hold a process open) and
// replaced if one dies; a job on a dead worker fails with INTERNAL, never hangs. A blob is written
// (write, fsync, rename, fsync of its folder) in one job with synchronous calls: a worker may block,
// and one hop instead of eight event-loop round trips per chunk keeps a put's pipeline short.
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { VaultError, type ErrorCode } from '../errors.ts'
import type { JobInput, JobKind } from './jobs.ts'
import { movable } from '../buffers/index.ts'

/** Below this, a job is done inline on the calling thread. */
const INLINE_BYTES = 64 * 1024
/** One per core, at most 4: measured on 2 cores, a third or fourth worker only added switching. */
const WORKERS = Math.max(1, Math.min(4, availableParallelism()))
/** `DV_WORKERS=0` does everything inline, disk jobs included (for comparison, or where threads are unwelcome). */
const DISABLED = process.env.DV_WORKERS === '0'

interface Pending { resolve: (value: unknown) => void, reject: (err: Error) => void }

interface Reply { job: number, ok: boolean, result?: unknown, code?: string, message?: string }

class ByteWorker {
  private readonly worker: Worker
  readonly pending = new Map<number, Pending>()
  dead = false

  constructor (onDeath: (w: ByteWorker) => void) {
    // The worker runs the same build as its caller: .ts under the test runner, .js from dist/.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
    this.worker = new Worker(new URL(`./worker${ext}`, import.meta.url), {
      // Only small objects live on the worker's heap; the buffers are outside it.
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
      stdout: false,
      stderr: false
    })
    this.worker.unref()
    this.worker.on('message', (reply: Reply) => this.settle(reply))
    const die = (why: string): void => {
      if (this.dead) return
      this.dead = true
      onDeath(this)
      for (const p of this.pending.values()) p.reject(new VaultError('INTERNAL', `a worker thread stopped: ${why}`))
      this.pending.clear()
    }
    this.worker.on('error', (err) => die(err.message))
    this.worker.on('exit', (code) => die(`exit code ${code}`))
  }

  run (job: number, kind: JobKind<JobInput, unknown>, input: JobInput, transfer: ArrayBuffer[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref() // a job in flight keeps the process alive
      this.pending.set(job, { resolve, reject })
      try {
        this.worker.postMessage({ job, name: kind.name, module: kind.module, input }, transfer)
      } catch (err) {
        this.pending.delete(job)
        if (this.pending.size === 0) this.worker.unref()
        reject(err as Error)
      }
    })
  }

  private settle (reply: Reply): void {
    const p = this.pending.get(reply.job)
    if (p === undefined) return
    this.pending.delete(reply.job)
    if (this.pending.size === 0) this.worker.unref()
    if (reply.ok) p.resolve(reply.result)
    else p.reject(new VaultError((reply.code ?? 'INTERNAL') as ErrorCode, reply.message ?? 'worker job failed'))
  }
}

const workers: ByteWorker[] = []
let nextJob = 1
let started = 0

/** Worker threads started by this process so far (each costs a few tenths of a CPU-second). */
export function workersStarted (): number { return started }

function leastBusy (): ByteWorker {
  const idle = workers.find((w) => w.pending.size === 0)
  if (idle !== undefined) return idle
  if (workers.length < WORKERS) {
    started++
    const fresh = new ByteWorker((dead) => { const at = workers.indexOf(dead); if (at >= 0) workers.splice(at, 1) })
    workers.push(fresh)
    return fresh
  }
  return workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
}

/** Whether a CPU job on this many bytes goes to a worker (else runJob does it inline). */
export function offloads (bytes: number): boolean {
  return !DISABLED && bytes >= INLINE_BYTES
}

/**
 * Runs a job of `kind` on a worker (or inline when small) and resolves with its result. `consume`:
 * the caller gives up `input.data`, which then moves to the worker instead of being copied.
 */
export async function runJob<In extends JobInput, Out> (kind: JobKind<In, Out>, input: In, consume: boolean): Promise<Out> {
  const data = input.data
  const inline = kind.onDisk === true || data === undefined ? DISABLED : !offloads(data.byteLength)
  if (inline) return kind.perform(input).result
  const generic = kind as unknown as JobKind<JobInput, unknown>
  // A job that names its bytes (a file) instead of carrying them: nothing to move.
  if (data === undefined) return revive(kind, await leastBusy().run(nextJob++, generic, input, []))
  let sent = data
  let transfer = consume ? movable(sent) : []
  if (transfer.length === 0) {
    // Not ours to move, or a view into a bigger buffer: move a copy of just these bytes.
    sent = Uint8Array.prototype.slice.call(sent)
    transfer = movable(sent)
  }
  const result = await leastBusy().run(nextJob++, generic, { ...input, ...kind.trim?.(input), data: sent }, transfer)
  return revive(kind, result)
}

function revive<In extends JobInput, Out> (kind: JobKind<In, Out>, result: unknown): Out {
  return kind.revive === undefined ? result as Out : kind.revive(result as Out)
}
