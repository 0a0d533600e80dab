// What a job kind is, and the registry of them. The pool knows no job: a subsystem defines its
// kinds (crypto/jobs.ts, store/jobs.ts, files/export-job.ts) with defineJob(), naming the module
// that defines them, and a worker thread imports that module the first time it is asked for one
// of its kinds. The same perform() serves the inline path, so both give exactly the same results.

/** A job's input: plain data for postMessage; `data`, if present, is the bytes it carries. */
export interface JobInput { data?: Uint8Array }

export interface JobKind<In extends JobInput, Out> {
  /** Unique, e.g. 'crypto.seal'. */
  name: string
  /** `import.meta.url` of the module that calls defineJob for this kind (a worker imports it). */
  module: string
  /** Does the job on this thread; returns the result and the buffers in it that may move back. */
  perform: (input: In) => { result: Out, transfer: ArrayBuffer[] }
  /** Waits on the disk: always on a worker (inline it would stall the event loop), unless workers are off. */
  onDisk?: boolean
  /** The worker may free `input.data` once done (default); false when the result hands it back. */
  spendsInput?: (input: In) => boolean
  /** Copies of small views to send (a key inside Node's shared pool would send the whole pool). */
  trim?: (input: In) => Partial<In>
  /** Buffers come back from a worker as Uint8Arrays: make them Buffers again. */
  revive?: (result: Out) => Out
}

const kinds = new Map<string, JobKind<JobInput, unknown>>()

/** Registers a job kind (at module load, in the main thread and in each worker that imports it). */
export function defineJob<In extends JobInput, Out> (kind: JobKind<In, Out>): JobKind<In, Out> {
  kinds.set(kind.name, kind as unknown as JobKind<JobInput, unknown>)
  return kind
}

/** The kind registered under `name`, importing `module` first if it has not been loaded here yet. */
export async function jobKind (name: string, module: string): Promise<JobKind<JobInput, unknown>> {
  if (!kinds.has(name)) await import(module)
  const kind = kinds.get(name)
  if (kind === undefined) throw new Error(`job kind ${name} is not defined by ${module}`)
  return kind
}

/** The input buffer the worker may free once the job is done, if any. */
export function spentInput (kind: JobKind<JobInput, unknown>, input: JobInput): Uint8Array | undefined {
  if (input.data === undefined || kind.spendsInput?.(input) === false) return undefined
  return input.data
}
