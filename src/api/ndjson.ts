// Long jobs answered as NDJSON: progress lines while the job runs, its result as the last line, or
// {"error": {code, message}} if it fails once the stream has started (the status is 200 by then).
import type { FastifyReply } from 'fastify'
import { toVaultError } from '../errors.ts'

export type SendLine = (line: object) => void

export async function replyNdjson (reply: FastifyReply, job: (send: SendLine) => Promise<object>): Promise<void> {
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
  try {
    const last = await job((line) => raw.write(JSON.stringify(line) + '\n'))
    raw.end(JSON.stringify(last) + '\n')
  } catch (err) {
    const error = toVaultError(err)
    raw.end(JSON.stringify({ error: { code: error.code, message: error.message } }) + '\n')
  }
}

/** `{"progress": bytes}` lines, at most one per 200 ms: enough for a progress bar. */
export function progressLines (send: SendLine): (bytes: number) => void {
  let last = 0
  return (bytes) => {
    const now = Date.now()
    if (now - last < 200) return
    last = now
    send({ progress: bytes })
  }
}
