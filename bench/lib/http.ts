// Put and get straight through the node's HTTP API from the bench process, streamed, with no CLI
// process around them: the node's own pipeline, without the CLI's start-up cost.
import { createReadStream, createWriteStream } from 'node:fs'
import { request, type IncomingMessage } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { apiOf } from './node-proc.ts'

async function send (dataDir: string, method: string, path: string, headers: Record<string, string | number>, body?: string): Promise<IncomingMessage> {
  const api = await apiOf(dataDir)
  return await new Promise((resolve, reject) => {
    const req = request(new URL(path, api.url), { method, agent: false, headers: { authorization: `Bearer ${api.token}`, ...headers } }, resolve)
    req.on('error', reject)
    if (body === undefined) req.end()
    else createReadStream(body, { highWaterMark: 64 * 1024 }).on('error', (err) => req.destroy(err)).pipe(req)
  })
}

async function text (res: IncomingMessage): Promise<string> {
  let s = ''
  for await (const part of res) s += (part as Buffer).toString('utf8')
  return s
}

/** POST /api/files?name=NAME with the file streamed; returns seconds from request to the 201 body. */
export async function apiPut (dataDir: string, file: string, bytes: number, name: string): Promise<number> {
  const started = performance.now()
  const res = await send(dataDir, 'POST', `/api/files?name=${encodeURIComponent(name)}`, { 'content-type': 'application/octet-stream', 'content-length': bytes }, file)
  const body = await text(res)
  const seconds = (performance.now() - started) / 1000
  if (res.statusCode !== 201) throw new Error(`API put answered ${res.statusCode}: ${body}`)
  const size = (JSON.parse(body) as { size?: number }).size
  if (size !== bytes) throw new Error(`API put stored ${size} bytes, expected ${bytes}`)
  return seconds
}

/** GET /api/files/NAME streamed to `out` (no fsync, like the CLI's get); returns seconds. */
export async function apiGet (dataDir: string, name: string, out: string): Promise<number> {
  const started = performance.now()
  const res = await send(dataDir, 'GET', `/api/files/${encodeURIComponent(name)}`, {})
  if (res.statusCode !== 200) throw new Error(`API get answered ${res.statusCode}: ${await text(res)}`)
  await pipeline(res, createWriteStream(out))
  return (performance.now() - started) / 1000
}
