// workers/: worker threads for the heavy byte work of puts and gets (sealing, opening, hashing,
// writing blobs), with buffers moved, not copied, between threads.
export { runJob, offloads } from './pool.ts'
export { release } from './buffers.ts'
export type { WorkerJob } from './jobs.ts'
