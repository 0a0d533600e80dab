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

/** Progress lines go out at most this often: enough for a progress bar, little for the wire. */
export const PROGRESS_EVERY_MS = 200

/**
 * The one progress throttle: passes at most one value per PROGRESS_EVERY_MS on to `report`;
 * a value for which `always` holds (a phase change, the last one) passes regardless.
 */
export function throttled<T> (report: (value: T) => void, always: (value: T) => boolean = () => false): (value: T) => void {
  let last = 0
  return (value) => {
    const now = Date.now()
    if (now - last < PROGRESS_EVERY_MS && !always(value)) return
    last = now
    report(value)
  }
}

/** `{"progress": bytes}` lines, throttled. */
export function progressLines (send: SendLine): (bytes: number) => void {
  return throttled((bytes) => send({ progress: bytes }))
}
