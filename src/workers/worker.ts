// A byte worker thread: does the jobs the pool posts (jobs.ts) and posts the results back, moving
// result buffers instead of copying them. Errors go back as {code, message}.
import { parentPort } from 'node:worker_threads'
import { performJob, spentInput, type WorkerJob } from './jobs.ts'
import { release } from './buffers.ts'
import { toVaultError } from '../errors.ts'

interface Request { job: number, task: WorkerJob }

const port = parentPort
if (port === null) throw new Error('worker.ts runs only as a worker thread')

port.on('message', ({ job, task }: Request) => {
  try {
    const { result, transfer } = performJob(task)
    port.postMessage({ job, ok: true, result }, transfer)
  } catch (err) {
    const error = toVaultError(err)
    port.postMessage({ job, ok: false, code: error.code, message: error.message })
  } finally {
    // The input came here moved or copied: this thread holds its only reference.
    const input = spentInput(task)
    if (input !== undefined) release(input)
  }
})
