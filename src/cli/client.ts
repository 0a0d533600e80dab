// The CLI's client of a running node's HTTP API: finds it through DIR/api.json, makes whatever
// listens there prove it is that node (before the token or any byte of a request goes out), sends
// the token, turns JSON error replies and unreachable nodes into VaultErrors with stable codes.
import type { Agent as HttpAgent, ClientRequestArgs, IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { readFile } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { UPLOAD_INTERRUPTED, VaultError, type ErrorCode } from '../errors.ts'
import { dataPaths } from '../node/data-dir.ts'
import type { ProgressLine } from '../api/index.ts'
import { CHALLENGE_HEADER, PROOF_HEADER, apiProof } from '../api/proof-words.ts'

// node:http through getBuiltinModule, not `import`: an ES import of a builtin builds its ESM facade
// by reading every export, and node:http's lazy WebSocket getters then load undici (with zlib, tls
// and webcrypto): ~110 ms of CPU at load 15, nearly a second bare Node start, for nothing this
// client uses (docs/PERFORMANCE.md).
const { request, Agent } = process.getBuiltinModule('node:http')

// The two shapes this client reads, checked by hand rather than with zod: zod is 95 modules and
// ~45 ms of start-up, a third of what every CLI command cost before it sent a byte.

/** api.json: `{url, token}` (more fields are ignored). */
function parseApiFile (value: unknown): { url: string, token: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { url, token } = value as Record<string, unknown>
  if (typeof url !== 'string' || !URL.canParse(url) || typeof token !== 'string' || token.length === 0) return undefined
  return { url, token }
}

/** The node's error replies: `{"error": {"code", "message"}}`. */
function parseErrorReply (value: unknown): { code: string, message: string } | undefined {
  const error = typeof value === 'object' && value !== null ? (value as Record<string, unknown>).error : undefined
  if (typeof error !== 'object' || error === null) return undefined
  const { code, message } = error as Record<string, unknown>
  return typeof code === 'string' && typeof message === 'string' ? { code, message } : undefined
}

export interface RequestOptions {
  method?: string
  headers?: Record<string, string | number>
  body?: Readable | string
  /** Resolve with the raw response (for streamed downloads) instead of parsed JSON. */
  raw?: boolean
  /**
   * The request stores bytes (a put, streamed or read by the node): a connection cut before the
   * answer ends says the upload was interrupted. Default: when the body is a stream.
   */
  upload?: boolean
}

/** How long whatever listens at the API address has to prove it is the node (ApiClient.proveNode). */
const PROOF_TIMEOUT_MS = 20_000

/** A connection cut mid-request that was not an upload (a recover, a scrub, a listing…). */
const NODE_WENT_AWAY = 'the node went away before it finished answering (it stopped or was killed mid-request; see its log)'

/** Whether each response the client handed out answers an upload (for the words of a cut). */
const uploadResponses = new WeakMap<IncomingMessage, boolean>()

/**
 * A connection cut (ECONNRESET: the node killed or crashed, its socket closed under the request or
 * its answer) as TRUNCATED, in words that fit what was under way; any other error unchanged.
 */
function cutOff (err: unknown, upload: boolean): unknown {
  if ((err as NodeJS.ErrnoException | undefined)?.code !== 'ECONNRESET') return err
  return new VaultError('TRUNCATED', upload ? UPLOAD_INTERRUPTED : NODE_WENT_AWAY, { cause: err })
}

/** Reading a response the client handed out: a cut says what was under way. */
async function * chunksOf (res: IncomingMessage): AsyncGenerator<Buffer> {
  try {
    for await (const part of res) yield part as Buffer
  } catch (err) {
    throw cutOff(err, uploadResponses.get(res) ?? false)
  }
}

/**
 * An agent with one connection, never a second: the request that proved the node on it and the
 * request that follows go over the same TCP connection, so the proof cannot go stale in between
 * (the node killed, another program on its port). Should the connection close first, the next
 * request fails instead of opening an unproven one.
 */
class OneConnectionAgent extends Agent {
  private opened = false

  override createConnection (options: ClientRequestArgs, callback?: (err: Error | null, socket: Duplex) => void): Duplex | null | undefined {
    if (this.opened) {
      callback?.(Object.assign(new Error('the proven connection to the node closed'), { code: 'ECONNRESET' }), undefined as unknown as Duplex)
      return undefined
    }
    this.opened = true
    return super.createConnection(options, callback)
  }
}

export class ApiClient {
  readonly url: string
  private readonly token: string
  /** The data dir api.json came from, for the hint to start its node. */
  private readonly dataDir: string | undefined

  constructor (url: string, token: string, dataDir?: string) {
    this.url = url
    this.token = token
    this.dataDir = dataDir
  }

  static async fromDataDir (dataDir: string): Promise<ApiClient> {
    const file = dataPaths(dataDir).apiFile
    const text = await readFile(file, 'utf8').catch(() => null)
    if (text === null) throw new VaultError('NOT_RUNNING', `no node is running on ${dataDir} ${startHint(dataDir)}`)
    const parsed = parseApiFile(safeJson(text))
    if (parsed === undefined) throw new VaultError('NOT_RUNNING', `${file} is damaged; restart the node`)
    return new ApiClient(parsed.url, parsed.token, dataDir)
  }

  async json<T = unknown> (path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(path, options)
    return JSON.parse((await readAll(res)).toString('utf8')) as T
  }

  /**
   * Sends a request; non-2xx replies become VaultErrors. First, on the connection the request will
   * use, a token-less GET (answered 401) carries a fresh random challenge, and the answer must carry
   * HMAC-SHA256(token, challenge) (api/proof.ts): a program that is not this data dir's node (one
   * that took the port of a node killed or gone with a reboot, api.json left behind) cannot, and
   * gets neither the token nor the request's path or body; the CLI says NOT_RUNNING.
   */
  async send (path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const agent = new OneConnectionAgent({ keepAlive: true, maxSockets: 1 })
    try {
      await this.proveNode(agent)
    } catch (err) {
      agent.destroy()
      throw err
    }
    const url = new URL(path, this.url)
    const upload = options.upload ?? (options.body !== undefined && typeof options.body !== 'string')
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, {
        method: options.method ?? 'GET',
        agent,
        // The connection closes after this reply: the agent holds nothing open.
        headers: { authorization: `Bearer ${this.token}`, ...options.headers, connection: 'close' }
      }, (res) => {
        uploadResponses.set(res, upload)
        if ((res.statusCode ?? 500) < 400) { resolve(res); return }
        readAll(res).then((body) => reject(replyError(res.statusCode ?? 500, body)), reject)
      })
      req.on('error', (err: NodeJS.ErrnoException) => { reject(this.requestError(err, upload)) })
      const body = options.body
      if (body === undefined) req.end()
      else if (typeof body === 'string') req.end(body)
      else {
        body.on('error', (err) => req.destroy(err))
        // The headers now, not with the body's first byte: until a request begins on it, the proven
        // connection idles in the node's keep-alive pool, closed after 72 s (a slow `… | put -`).
        req.flushHeaders()
        body.pipe(req)
      }
    })
  }

  /**
   * The challenge and its check: resolves once the process on the other end proved it is the node
   * and its connection is back in the agent, free for the request that follows. Whatever ends the
   * exchange first (a close, a reset, bytes that are not HTTP, silence) is NOT_RUNNING: nothing of
   * the request was sent, and what holds the address has not shown it is the node.
   */
  private async proveNode (agent: HttpAgent): Promise<void> {
    const { randomBytes, timingSafeEqual } = process.getBuiltinModule('node:crypto')
    const challenge = randomBytes(32).toString('base64url')
    const node = `the node of ${this.dataDir ?? 'this data dir'}`
    let proven = false
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string, err?: NodeJS.ErrnoException): void => {
        clearTimeout(timer)
        if (err?.code === 'ECONNREFUSED' || err?.code === 'ENOTFOUND') { reject(this.requestError(err)); return }
        reject(new VaultError('NOT_RUNNING', `${node} is not running: ${why} ${startHint(this.dataDir)}`, { cause: err }))
      }
      // The agent's own listener (added first) has pooled the socket when this one runs.
      agent.once('free', () => { clearTimeout(timer); resolve() })
      const req = request(new URL('/api/status', this.url), { agent, headers: { [CHALLENGE_HEADER]: challenge } }, (res) => {
        // Bound to the address this connection reached: a proof relayed from the node elsewhere fails.
        const expected = Buffer.from(apiProof(this.token, challenge, res.socket.remoteAddress, res.socket.remotePort), 'base64url')
        const proof = Buffer.from(String(res.headers[PROOF_HEADER] ?? ''), 'base64url')
        if (proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
          req.destroy()
          fail(`what answers at ${this.url} is another program or node (api.json is left from a node that was killed, or is not its own)`)
          return
        }
        proven = true
        res.resume()
      })
      // A node answers in milliseconds; a stopped (SIGSTOP) or hung process, or another program on
      // the port, may take the connection and never answer.
      const timer = setTimeout(() => {
        req.destroy()
        fail(`nothing answered at ${this.url} within ${PROOF_TIMEOUT_MS / 1000} s (another program holds its port, or the node is stopped or hung)`)
      }, PROOF_TIMEOUT_MS)
      const ended = (): string => proven
        ? `it closed the connection at ${this.url} after proving itself (it is stopping)`
        : `what answers at ${this.url} is not the node: the connection ended before it proved itself (another program holds its port, or the node is stopping)`
      req.on('error', (err: NodeJS.ErrnoException) => { fail(ended(), err) })
      // Closed rather than kept for the request (settles nothing once the socket was freed).
      req.on('socket', (socket) => { socket.once('close', () => { fail(ended()) }) })
      req.end()
    })
  }

  /** `upload`: the request was storing bytes (what a cut connection interrupted). */
  private requestError (err: NodeJS.ErrnoException, upload = false): VaultError {
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND') return new VaultError('NOT_RUNNING', `the node at ${this.url} is not answering ${startHint(this.dataDir)}`)
    // The node went away while this end was still writing (a put's body).
    if (err.code === 'EPIPE') return new VaultError('TRUNCATED', upload ? UPLOAD_INTERRUPTED : NODE_WENT_AWAY, { cause: err })
    const cut = cutOff(err, upload)
    if (cut instanceof VaultError) return cut
    return new VaultError('UNREACHABLE', `request to the node failed: ${err.message}`, { cause: err })
  }
}

/** The usual hint after NOT_RUNNING. */
function startHint (dataDir: string | undefined): string {
  return `(start one with "distri-vault start${dataDir === undefined ? '' : ` --data ${dataDir}`}")`
}

/**
 * The lines of an NDJSON reply (long jobs that report progress), parsed. A line with `error` ends
 * the job: it is thrown as the VaultError it names.
 */
export async function * ndjsonLines<T extends object> (res: IncomingMessage): AsyncGenerator<T> {
  let buffer = ''
  for await (const part of chunksOf(res)) {
    buffer += part.toString()
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = safeJson(buffer.slice(0, nl)) as (T & { error?: unknown }) | undefined
      buffer = buffer.slice(nl + 1)
      if (line === undefined || typeof line !== 'object' || line === null) throw new VaultError('INTERNAL', 'the node sent a reply that is not JSON')
      const error = parseErrorReply(line)
      if (error !== undefined) throw new VaultError(error.code as ErrorCode, error.message)
      yield line as T
    }
  }
}

/**
 * Follows a long job answered as NDJSON progress lines ending with `{phase: 'done', …}` (recover,
 * scrub): a status line on a terminal, then the last line; TRUNCATED if the node stopped first.
 */
export async function followPhases<T extends { phase: string }> (res: IncomingMessage, status: ((line: T) => string) | undefined, what: string): Promise<T> {
  let last: T | undefined
  for await (const line of ndjsonLines<T>(res)) {
    last = line
    if (status !== undefined) process.stderr.write(`\r${status(line)}   `)
  }
  if (status !== undefined) process.stderr.write('\n')
  if (last?.phase !== 'done') throw new VaultError('TRUNCATED', `the node stopped answering before ${what} finished`)
  return last
}

/**
 * Starts an import or export: the node reads or writes a path on its own machine. Undefined when
 * it cannot reach that path (FORBIDDEN: another user; NOT_FOUND: another mount namespace, or a node
 * without the route): the caller then moves the bytes over HTTP instead.
 */
export async function startLocalJob (client: ApiClient, route: '/api/files/import' | '/api/files/export', body: object): Promise<IncomingMessage | undefined> {
  try {
    return await client.send(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), upload: route === '/api/files/import' })
  } catch (err) {
    if (err instanceof VaultError && (err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND')) return undefined
    throw err
  }
}

/**
 * Follows a job answered as `{"progress": bytes}` lines and a `{"result": …}` line (import and
 * export), feeding the progress bar; resolves with the result.
 */
export async function followJob<R extends { size: number }> (res: IncomingMessage, progress: { add: (bytes: number) => void }, what: string): Promise<R> {
  let reported = 0
  for await (const line of ndjsonLines<Partial<ProgressLine> & { result?: R }>(res)) {
    if (line.progress !== undefined) { progress.add(line.progress - reported); reported = line.progress }
    if (line.result !== undefined) { progress.add(line.result.size - reported); return line.result }
  }
  throw new VaultError('TRUNCATED', `the node stopped answering before the file was ${what}`)
}

/** Whether the node's API is on this machine (then it can read this machine's files itself). */
export function isLoopback (url: string): boolean {
  const host = new URL(url).hostname
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

function replyError (status: number, body: Buffer): VaultError {
  const parsed = parseErrorReply(safeJson(body.toString('utf8')))
  if (parsed !== undefined) return new VaultError(parsed.code as ErrorCode, parsed.message)
  if (status === 401) return new VaultError('UNAUTHORIZED', 'the node refused the API token')
  if (status < 500) return new VaultError('BAD_INPUT', `the node refused the request (HTTP ${status}: ${body.toString('utf8').slice(0, 200)})`)
  return new VaultError('INTERNAL', `the node answered HTTP ${status}`)
}

async function readAll (res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of chunksOf(res)) parts.push(part)
  return Buffer.concat(parts)
}

function safeJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
