// The byte workers: a few worker threads that seal, open, hash and write big buffers, so that a
// put or a get uses every core while the main thread chunks, serves HTTP and talks to peers.
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
import { performJob, type WorkerJob, type ResultOf } from './jobs.ts'
import { asBuffer, movable } from './buffers.ts'

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

  run (job: number, task: WorkerJob, transfer: ArrayBuffer[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref() // a job in flight keeps the process alive
      this.pending.set(job, { resolve, reject })
      try {
        this.worker.postMessage({ job, task }, transfer)
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

function leastBusy (): ByteWorker {
  const idle = workers.find((w) => w.pending.size === 0)
  if (idle !== undefined) return idle
  if (workers.length < WORKERS) {
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

/** Jobs that wait on the disk (fsync, file reads) always go to a worker: inline they would stall the event loop. */
function runsInline (task: WorkerJob): boolean {
  if (task.op === 'writeBlob' || task.op === 'openToFile') return DISABLED
  return !offloads(task.data.byteLength)
}

/**
 * Runs `task` on a worker (or inline when small) and resolves with its result. `consume`: the
 * caller gives up `task.data`, which then moves to the worker instead of being copied.
 */
export async function runJob<J extends WorkerJob> (task: J, consume: boolean): Promise<ResultOf<J>> {
  if (runsInline(task)) return performJob(task).result as ResultOf<J>
  // A job that names its bytes (a file) instead of carrying them: nothing to move.
  if (!('data' in task)) return revive(task.op, await leastBusy().run(nextJob++, task, [])) as ResultOf<J>
  let data = task.data
  let transfer = consume ? movable(data) : []
  if (transfer.length === 0) {
    // Not ours to move, or a view into a bigger buffer: move a copy of just these bytes.
    data = Uint8Array.prototype.slice.call(data)
    transfer = movable(data)
  }
  // A key is a view into Node's shared buffer pool: send its own 32 bytes, not the whole pool.
  const small = task.op === 'seal' ? { vaultKey: Uint8Array.prototype.slice.call(task.vaultKey) } : {}
  const result = await leastBusy().run(nextJob++, { ...task, ...small, data }, transfer)
  return revive(task.op, result) as ResultOf<J>
}

/** Buffers come back from a worker as plain Uint8Arrays: make them Buffers again. */
function revive (op: WorkerJob['op'], result: unknown): unknown {
  switch (op) {
    case 'seal': {
      const r = result as { sealed: Uint8Array }
      return { ...r, sealed: asBuffer(r.sealed) }
    }
    case 'open': return asBuffer(result as Uint8Array)
    case 'sha256': {
      const r = result as { hex: string, data: Uint8Array }
      return { hex: r.hex, data: asBuffer(r.data) }
    }
    case 'writeBlob':
    case 'openToFile': return result
  }
}
