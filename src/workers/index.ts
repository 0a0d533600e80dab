// workers/: a generic pool of worker threads for heavy byte work. It knows no job: crypto, store
// and files define their job kinds (defineJob) and run them (runJob); buffers move, not copy.
export { runJob, offloads, workersStarted } from './pool.ts'
export { defineJob, type JobKind, type JobInput } from './jobs.ts'
