// A worker thread: does the jobs the pool posts (a kind's perform(), its module imported on first
// use) and posts the results back, moving result buffers instead of copying them. Errors go back
// as {code, message}.
import { parentPort } from 'node:worker_threads'
import { jobKind, spentInput, type JobInput } from './jobs.ts'
import { release } from '../buffers/index.ts'
import { toVaultError } from '../errors.ts'

interface Request { job: number, name: string, module: string, input: JobInput }

const port = parentPort
if (port === null) throw new Error('worker.ts runs only as a worker thread')

port.on('message', ({ job, name, module, input }: Request) => {
  jobKind(name, module).then((kind) => {
    try {
      const { result, transfer } = kind.perform(input)
      port.postMessage({ job, ok: true, result }, transfer)
    } finally {
      // The input came here moved or copied: this thread holds its only reference.
      const spent = spentInput(kind, input)
      if (spent !== undefined) release(spent)
    }
  }).catch((err: unknown) => {
    const error = toVaultError(err)
    port.postMessage({ job, ok: false, code: error.code, message: error.message })
  })
})
