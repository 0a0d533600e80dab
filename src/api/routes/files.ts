// /api/files: streamed upload (put), list (ls), streamed download with Range (get), delete (rm),
// share. `:ref` is a name (URL-encoded), a file ID or ID prefix, or a capability string.
import type { OutgoingHttpHeaders } from 'node:http'
import { once } from 'node:events'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { release } from '../../buffers/index.ts'
import { z } from 'zod'
import type { NodeServices } from '../services.ts'
import type { FileRecord } from '../../catalog/index.ts'
import { VaultError } from '../../errors.ts'
import { checkFileName, checkTree, createLocalFile, fitFileName, openLocalFile, parseVersionTime, versionViews, type ByteRange, type OpenFile, type VersionPick } from '../../files/index.ts'
import { replicaTargetOf, REPLICAS_RULE } from '../../redundancy/index.ts'
import { progressLines, replyNdjson } from '../ndjson.ts'
import { parseRange } from '../range.ts'
import type { ApiStats } from '../server.ts'

export const putQuery = z.object({
  name: z.string().min(1, 'the file name is empty'),
  replicas: z.string().max(16).transform((text, ctx) => replicaTargetOf(text) ?? (ctx.addIssue({ code: 'custom', message: `must be ${REPLICAS_RULE}` }), z.NEVER)).optional(),
  mtime: z.string().datetime({ offset: true }).optional()
})
const importBody = z.object({
  path: z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'must not contain NUL'),
  name: z.string().min(1, 'the file name is empty'),
  replicas: putQuery.shape.replicas,
  mtime: putQuery.shape.mtime
})
const exportBody = z.object({
  ref: z.string().min(1, 'give a file name, ID or capability').max(8192),
  path: importBody.shape.path
})
const treeCheckBody = z.object({ path: importBody.shape.path })
const treeImportBody = z.object({ path: importBody.shape.path, name: importBody.shape.name, replicas: putQuery.shape.replicas })
const refParams = z.object({ ref: z.string().min(1, 'give a file name, ID or capability').max(8192) })
/** ?version=N (1 = oldest) or ?at=TIME: which version of a name a read means (default: the newest). */
const versionQuery = z.object({
  version: z.string().regex(/^[1-9]\d{0,8}$/, 'must be a version number (1 = the oldest)').optional(),
  at: z.string().min(1).max(64).optional()
})
const removeQuery = z.object({ allVersions: z.enum(['true', 'false', '1', '0']).optional() })
const keepCount = z.number().int().min(0).max(1_000_000).optional()
const pruneBody = z.object({
  keepLast: keepCount,
  keepDaily: keepCount,
  keepWeekly: keepCount,
  dryRun: z.boolean().optional(),
  names: z.array(z.string().min(1).max(4096)).max(10_000).optional()
})

export function fileView (f: FileRecord): { id: string, name: string, size: number, mtime: string, replicas: number, kind: 'file' | 'tree', files: number, versions?: number } {
  return { id: f.id, name: f.name, size: f.size, mtime: f.mtime, replicas: f.replicas, kind: f.kind ?? 'file', files: f.files ?? 1, ...(f.versions === undefined ? {} : { versions: f.versions }) }
}

export function parseVersionPick (query: unknown): VersionPick | undefined {
  const { version, at } = parse(versionQuery, query)
  if (version !== undefined && at !== undefined) throw new VaultError('BAD_USAGE', 'give --version or --at, not both')
  if (version !== undefined) return { version: Number(version) }
  if (at !== undefined) return { at: parseVersionTime(at) }
  return undefined
}

export function parse<S extends z.ZodType> (schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new VaultError('BAD_INPUT', `${issue?.path.join('.') ?? 'input'}: ${issue?.message ?? 'invalid'}`)
  }
  return result.data
}

/**
 * import and export touch the node's own disk: only for a client on the same machine. With the API
 * on a public address, a token copied elsewhere must not become a way into this machine's files.
 */
export function assertLocalClient (address: string | undefined, what: string): void {
  const local = address !== undefined && (address === '::1' || /^(::ffff:)?127\./.test(address))
  if (!local) throw new VaultError('FORBIDDEN', `${what}: only clients on the same machine may use it`)
}

export interface FileRouteOptions { stats: ApiStats, log: Logger }

/**
 * Reads the first part of a download before any status is sent, so that what can fail early (the
 * first chunk missing here and on every holder, or damaged everywhere) is answered with a JSON
 * error and a status rather than a connection cut before the headers.
 */
async function firstPart (source: AsyncGenerator<Buffer>, options: FileRouteOptions): Promise<Buffer | undefined> {
  try {
    const first = await source.next()
    return first.done === true ? undefined : first.value
  } catch (err) {
    options.stats.downloadFailures.beforeStatus++
    // The file exists (its manifest opened): a chunk nobody can supply is unavailable, not "no such file".
    if (err instanceof VaultError && err.code === 'NOT_FOUND') throw new VaultError('UNAVAILABLE', `the file's data is not available: ${err.message}`, { cause: err })
    throw err
  }
}

/**
 * Streams `first` and then the rest of `source` as the body, honouring back-pressure, and frees
 * each buffer as soon as the socket has taken it. Left to the garbage collector, plaintext buffers
 * that waited on a slow reader get promoted and pile up until a full collection: tens of MiB of RSS
 * on a 1 GiB get. A failure mid-stream cuts the connection before the announced Content-Length, so
 * the client sees an incomplete body (never a clean end, never a wrong byte); it is logged and
 * counted (distri_vault_download_failures_total).
 */
async function sendReleasing (reply: FastifyReply, status: number, first: Buffer | undefined, source: AsyncGenerator<Buffer>, signal: AbortSignal, options: FileRouteOptions): Promise<void> {
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(status, reply.getHeaders() as OutgoingHttpHeaders)
  const send = async (part: Buffer): Promise<void> => {
    if (!raw.write(part, () => release(part))) await once(raw, 'drain', { signal })
  }
  try {
    if (first !== undefined) await send(first)
    for await (const part of source) await send(part)
    raw.end()
  } catch (err) {
    if (!signal.aborted) {
      options.stats.downloadFailures.midStream++
      options.log.error({ err, url: reply.request.url }, 'download failed mid-stream; the connection was cut')
    }
    raw.destroy()
  }
}

/**
 * Aborted when the connection closes before the answer is complete: the work for it stops. (The
 * response's own 'close', not the socket's: a kept-alive socket would collect one listener per request.)
 */
function clientGone (reply: FastifyReply): AbortSignal {
  const gone = new AbortController()
  reply.raw.on('close', () => { if (!reply.raw.writableFinished) gone.abort() })
  return gone.signal
}

/** The client hung up: the put stops at the next read and stores nothing, as a cut-off upload does. */
async function * untilAborted (source: AsyncIterable<Buffer>, signal: AbortSignal): AsyncGenerator<Buffer> {
  for await (const part of source) {
    if (signal.aborted) throw new VaultError('TRUNCATED', 'the client went away before the file was stored')
    yield part
  }
}

/** The headers of a download: what it is (name, ID, mtime) and which bytes of it follow. */
function downloadHeaders (file: OpenFile, partial: ByteRange | undefined): Record<string, string | number> {
  return {
    'accept-ranges': 'bytes',
    'x-dv-name': encodeURIComponent(file.name),
    'x-dv-id': file.id,
    'x-dv-mtime': file.mtime,
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(fitFileName(file.name.split('/').pop() ?? 'file'))}`,
    ...(partial === undefined
      ? { 'content-length': file.size }
      : { 'content-range': `bytes ${partial.start}-${partial.end}/${file.size}`, 'content-length': partial.end - partial.start + 1 })
  }
}

/** POST /api/files?name=…: the request body, as raw bytes, becomes the file. */
async function putUpload (node: NodeServices, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const query = parse(putQuery, request.query)
  const length = request.headers['content-length']
  const expectedSize = length === undefined ? undefined : Number(length)
  const replicas = query.replicas
  const result = await node.vault.put(request.raw, {
    name: query.name,
    mtime: query.mtime === undefined ? undefined : new Date(query.mtime),
    expectedSize,
    replicas
  })
  return await reply.status(201).send(result)
}

export function fileRoutes (app: FastifyInstance, node: NodeServices, options: FileRouteOptions): void {
  // Uploads are never buffered: the raw request stream goes straight into the chunker, whatever
  // its Content-Type. In a context of its own whose one body parser hands the stream on untouched
  // (fastify's JSON and text parsers would consume it; the JSON routes below keep them). The type
  // means nothing to a vault file, so it is dropped before fastify looks at it: even a malformed
  // one ("foo") is no reason to refuse the bytes.
  void app.register(async (uploads) => {
    uploads.removeAllContentTypeParsers()
    uploads.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })
    uploads.addHook('preParsing', async (request) => { delete request.headers['content-type'] })
    uploads.post('/api/files', async (request, reply) => await putUpload(node, request, reply))
  })

  // put of a file on the node's own machine: the node reads the path itself (files/local-file.ts).
  // The answer is NDJSON: {"progress": bytes} lines, then {"result": …} or {"error": …}.
  app.post('/api/files/import', async (request, reply) => {
    assertLocalClient(request.socket.remoteAddress, 'import reads the node\'s own disk')
    const body = parse(importBody, request.body)
    // Everything that can be refused is refused before the stream starts, with a plain status.
    checkFileName(body.name)
    const file = await openLocalFile(body.path)
    const gone = clientGone(reply)
    try {
      await replyNdjson(reply, async (send) => {
        const result = await node.vault.put(untilAborted(file.bytes, gone), {
          name: body.name,
          mtime: body.mtime === undefined ? file.mtime : new Date(body.mtime),
          expectedSize: file.size,
          replicas: body.replicas,
          ownedSource: true,
          onProgress: progressLines(send)
        })
        return { result }
      })
    } finally {
      await file.close()
    }
  })

  // get -o PATH on the node's own machine: the node writes the file itself. NDJSON as for import;
  // the result is {id, name, size, path}. The body's `path` is the final file, chosen by the client.
  app.post('/api/files/export', async (request, reply) => {
    assertLocalClient(request.socket.remoteAddress, 'export writes to the node\'s own disk')
    const body = parse(exportBody, request.body)
    // Everything that can be refused is refused before the stream starts, with a plain status.
    const file = await node.vault.open(body.ref)
    const target = await createLocalFile(body.path)
    const gone = clientGone(reply)
    await replyNdjson(reply, async (send) => {
      try {
        const size = await node.vault.writeTo(file, target.fd, gone, progressLines(send))
        await target.commit(new Date(file.mtime))
        return { result: { id: file.id, name: file.name, size, path: body.path } }
      } catch (err) {
        await target.discard()
        throw err
      }
    })
  })

  // Folders (files/tree-*.ts): read and written by the node on its own machine, like import/export.
  // check: everything that would make a folder's put fail, before anything is stored (put checks
  // all its inputs first). import: the folder as one entry; NDJSON as for a file's import.
  app.post('/api/trees/check', async (request) => {
    assertLocalClient(request.socket.remoteAddress, 'a folder is read from the node\'s own disk')
    const body = parse(treeCheckBody, request.body)
    return await checkTree(body.path)
  })

  app.post('/api/trees/import', async (request, reply) => {
    assertLocalClient(request.socket.remoteAddress, 'a folder is read from the node\'s own disk')
    const body = parse(treeImportBody, request.body)
    checkFileName(body.name)
    await replyNdjson(reply, async (send) => {
      const result = await node.vault.putTree(body.path, { name: body.name, replicas: body.replicas, onProgress: progressLines(send) })
      return { result }
    })
  })

  // get of a folder: the node writes it at `path` (which must not exist yet), atomically.
  app.post('/api/trees/export', async (request, reply) => {
    assertLocalClient(request.socket.remoteAddress, 'a folder is written to the node\'s own disk')
    const body = parse(exportBody, request.body)
    const file = await node.vault.open(body.ref)
    if (file.manifest.kind !== 'tree') throw new VaultError('BAD_INPUT', `"${file.name}" is a file, not a folder`)
    const gone = clientGone(reply)
    await replyNdjson(reply, async (send) => {
      const done = await node.vault.restoreTree(file, body.path, gone, progressLines(send))
      return { result: { id: file.id, name: file.name, size: done.size, files: done.files, path: done.path } }
    })
  })

  // ls NAME: a folder's entries, in listing order.
  app.get('/api/files/:ref/tree', async (request) => {
    const { ref } = parse(refParams, request.params)
    const file = await node.vault.open(ref)
    const entries: object[] = []
    for await (const e of node.vault.treeEntries(file)) {
      if (e.path === '') continue
      entries.push({ path: e.path, type: e.type, size: e.size, mtime: new Date(e.mtime).toISOString(), mode: e.mode, ...(e.target === undefined ? {} : { target: e.target }) })
    }
    return entries
  })

  app.get('/api/files', async () => node.vault.list().map(fileView))

  app.get('/api/files/:ref/info', async (request) => {
    const { ref } = parse(refParams, request.params)
    const file = await node.vault.open(ref, parseVersionPick(request.query))
    return { id: file.id, owner: file.owner, name: file.name, size: file.size, mtime: file.mtime, chunks: file.manifest.chunks.length, kind: file.manifest.kind ?? 'file', files: file.manifest.files ?? 1 }
  })

  app.get('/api/files/:ref/versions', async (request) => {
    const { ref } = parse(refParams, request.params)
    return versionViews(node.vault.versions(ref))
  })

  app.post('/api/prune', async (request) => {
    const body = parse(pruneBody, request.body ?? {})
    return await node.vault.prune(body)
  })

  app.get('/api/files/:ref', async (request, reply) => {
    const { ref } = parse(refParams, request.params)
    const file = await node.vault.open(ref, parseVersionPick(request.query))
    const range = parseRange(request.headers.range, file.size)
    if (range.kind === 'unsatisfiable') {
      reply.header('content-range', `bytes */${file.size}`)
      throw new VaultError('BAD_RANGE', `range not satisfiable for a file of ${file.size} bytes`)
    }
    const gone = clientGone(reply)
    const partial = range.kind === 'partial' ? range : undefined
    const bytes = node.vault.read(file, partial, gone)
    const first = await firstPart(bytes, options)
    // Only now the download's own headers: an error above is a plain JSON answer.
    void reply.headers(downloadHeaders(file, partial))
    await sendReleasing(reply, partial !== undefined ? 206 : 200, first, bytes, gone, options)
  })

  app.delete('/api/files/:ref', async (request) => {
    const { ref } = parse(refParams, request.params)
    const { allVersions } = parse(removeQuery, request.query)
    const removed = await node.vault.remove(ref, { allVersions: allVersions === 'true' || allVersions === '1' })
    return { ...fileView(removed), removedVersions: removed.removedVersions }
  })

  app.get('/api/files/:ref/health', async (request) => {
    const { ref } = parse(refParams, request.params)
    return await node.health(ref)
  })

  app.get('/api/files/:ref/share', async (request) => {
    const { ref } = parse(refParams, request.params)
    return { capability: await node.vault.share(ref) }
  })
}
