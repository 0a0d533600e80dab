// The CLI's client of a running node's HTTP API: finds it through DIR/api.json, sends the token,
// turns JSON error replies and unreachable nodes into VaultErrors with stable codes.
import { request, type IncomingMessage } from 'node:http'
import { readFile } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { z } from 'zod'
import { VaultError, type ErrorCode } from '../errors.ts'
import { dataPaths } from '../node/data-dir.ts'

const apiFileSchema = z.object({ url: z.string().url(), token: z.string().min(1), pid: z.number().optional(), nodeId: z.string().optional() })
const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) })

export interface RequestOptions {
  method?: string
  headers?: Record<string, string | number>
  body?: Readable | string
  /** Resolve with the raw response (for streamed downloads) instead of parsed JSON. */
  raw?: boolean
}

export class ApiClient {
  readonly url: string
  private readonly token: string

  constructor (url: string, token: string) {
    this.url = url
    this.token = token
  }

  static async fromDataDir (dataDir: string): Promise<ApiClient> {
    const file = dataPaths(dataDir).apiFile
    const text = await readFile(file, 'utf8').catch(() => null)
    if (text === null) throw new VaultError('NOT_RUNNING', `no node is running on ${dataDir} (start one with "distri-vault start --data ${dataDir}")`)
    const parsed = apiFileSchema.safeParse(safeJson(text))
    if (!parsed.success) throw new VaultError('NOT_RUNNING', `${file} is damaged; restart the node`)
    return new ApiClient(parsed.data.url, parsed.data.token)
  }

  async json<T = unknown> (path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, options)
    return JSON.parse((await readAll(res)).toString('utf8')) as T
  }

  /** Sends a request; non-2xx replies become VaultErrors. */
  async send (path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const url = new URL(path, this.url)
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, {
        method: options.method ?? 'GET',
        agent: false,
        headers: { authorization: `Bearer ${this.token}`, ...options.headers }
      }, (res) => {
        if ((res.statusCode ?? 500) < 400) { resolve(res); return }
        readAll(res).then((body) => reject(replyError(res.statusCode ?? 500, body)), reject)
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND') reject(new VaultError('NOT_RUNNING', `the node at ${this.url} is not answering (is it running?)`))
        else reject(new VaultError('UNREACHABLE', `request to the node failed: ${err.message}`, { cause: err }))
      })
      const body = options.body
      if (body === undefined) req.end()
      else if (typeof body === 'string') req.end(body)
      else {
        body.on('error', (err) => req.destroy(err))
        body.pipe(req)
      }
    })
  }
}

/**
 * The lines of an NDJSON reply (long jobs that report progress), parsed. A line with `error` ends
 * the job: it is thrown as the VaultError it names.
 */
export async function * ndjsonLines<T extends object> (res: IncomingMessage): AsyncGenerator<T> {
  let buffer = ''
  for await (const part of res) {
    buffer += (part as Buffer).toString()
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = safeJson(buffer.slice(0, nl)) as (T & { error?: unknown }) | undefined
      buffer = buffer.slice(nl + 1)
      if (line === undefined || typeof line !== 'object' || line === null) throw new VaultError('INTERNAL', 'the node sent a reply that is not JSON')
      const error = errorSchema.safeParse(line)
      if (error.success) throw new VaultError(error.data.error.code as ErrorCode, error.data.error.message)
      yield line as T
    }
  }
}

/** Whether the node's API is on this machine (then it can read this machine's files itself). */
export function isLoopback (url: string): boolean {
  const host = new URL(url).hostname
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function replyError (status: number, body: Buffer): VaultError {
  const parsed = errorSchema.safeParse(safeJson(body.toString('utf8')))
  if (parsed.success) return new VaultError(parsed.data.error.code as ErrorCode, parsed.data.error.message)
  if (status === 401) return new VaultError('UNAUTHORIZED', 'the node refused the API token')
  if (status < 500) return new VaultError('BAD_INPUT', `the node refused the request (HTTP ${status}: ${body.toString('utf8').slice(0, 200)})`)
  return new VaultError('INTERNAL', `the node answered HTTP ${status}`)
}

async function readAll (res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of res) parts.push(part as Buffer)
  return Buffer.concat(parts)
}

function safeJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
