// POST /api/trees?name=NAME: a folder dropped on the dashboard, stored as ONE tree entry, the very
// entry `put DIR` makes. The body is a header line, {"entries":[{path, type, size, mtime}…]}, then
// each file's bytes in the header's order. Every path is checked (the listing's own rule, as for a
// folder put) before a byte is kept; the files are then streamed into a staging folder under
// storage/.tmp (cleared at every start, so a crash leaves nothing) with their mtimes, and the
// vault's putTree stores that folder. Memory stays flat: the header is bounded, the bytes stream.
import { randomBytes } from 'node:crypto'
import { mkdir, open, rm, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { NodeServices } from '../services.ts'
import { VaultError } from '../../errors.ts'
import { checkFileName, isTreePath } from '../../files/index.ts'
import { parse, putQuery } from './files.ts'

/** The header line: at most this many bytes and entries (a folder put has no such bound; a browser drop is a person's folder). */
const MAX_HEADER_BYTES = 32 * 1024 * 1024
const MAX_ENTRIES = 200_000

const entrySchema = z.object({
  path: z.string().min(1).max(65_536).refine(isTreePath, 'not a path inside the folder (empty, ".", ".." or a too long component)'),
  type: z.enum(['file', 'dir']).default('file'),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  /** Milliseconds since the epoch (File.lastModified). */
  mtime: z.number().finite().min(0).max(8.64e15).optional()
})
const headerSchema = z.object({ entries: z.array(entrySchema).max(MAX_ENTRIES) })
export type UploadEntry = z.infer<typeof entrySchema>
const treeQuery = z.object({ name: putQuery.shape.name, replicas: putQuery.shape.replicas })

/** The whole tree is refused for one bad entry: every path once, no file inside a file. */
export function checkUploadEntries (entries: UploadEntry[]): void {
  const kinds = new Map<string, 'file' | 'dir'>()
  for (const e of entries) {
    if (kinds.has(e.path)) throw new VaultError('BAD_INPUT', `nothing was stored: "${e.path}" is in the folder twice`)
    kinds.set(e.path, e.type)
  }
  for (const e of entries) {
    const parts = e.path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/')
      if (kinds.get(parent) === 'file') throw new VaultError('BAD_INPUT', `nothing was stored: "${e.path}" is inside "${parent}", which is a file`)
    }
  }
}

/** Reads a stream as a header line then exact byte counts, holding no more than one part of it. */
class BodyReader {
  private readonly source: AsyncIterator<Buffer>
  private rest: Buffer = Buffer.alloc(0)

  constructor (source: AsyncIterable<Buffer>) {
    this.source = source[Symbol.asyncIterator]()
  }

  private async more (): Promise<boolean> {
    const next = await this.source.next()
    if (next.done === true) return false
    this.rest = this.rest.length === 0 ? next.value : Buffer.concat([this.rest, next.value])
    return true
  }

  async line (maxBytes: number): Promise<string> {
    for (;;) {
      const at = this.rest.indexOf(10)
      if (at >= 0) {
        const text = this.rest.subarray(0, at).toString('utf8')
        this.rest = this.rest.subarray(at + 1)
        return text
      }
      if (this.rest.length > maxBytes) throw new VaultError('TOO_LARGE', `the folder's list of entries is longer than ${maxBytes} bytes`)
      if (!await this.more()) throw new VaultError('BAD_INPUT', 'the upload ended before its list of entries')
    }
  }

  /** Exactly `size` bytes, part by part. */
  async * bytes (size: number): AsyncGenerator<Buffer> {
    let left = size
    while (left > 0) {
      if (this.rest.length === 0 && !await this.more()) throw new VaultError('TRUNCATED', `the upload ended ${left} bytes early; nothing was stored`)
      const part = this.rest.subarray(0, Math.min(left, this.rest.length))
      this.rest = this.rest.subarray(part.length)
      left -= part.length
      yield part
    }
  }

  async atEnd (): Promise<boolean> {
    return this.rest.length === 0 && !await this.more()
  }
}

async function stageFile (reader: BodyReader, path: string, size: number): Promise<void> {
  const file = await open(path, 'wx', 0o644)
  try {
    for await (const part of reader.bytes(size)) await file.write(part)
  } finally {
    await file.close()
  }
}

/** The upload laid out under `root` as the folder it was on the user's machine. */
async function stageTree (reader: BodyReader, root: string, entries: UploadEntry[]): Promise<void> {
  await mkdir(root, { recursive: true })
  const times: Array<[string, number]> = []
  for (const e of entries) {
    const full = join(root, ...e.path.split('/'))
    await mkdir(e.type === 'dir' ? full : join(full, '..'), { recursive: true })
    if (e.type === 'file') await stageFile(reader, full, e.size)
    if (e.mtime !== undefined) times.push([full, e.mtime])
  }
  if (!await reader.atEnd()) throw new VaultError('BAD_INPUT', 'the upload has more bytes than its entries say; nothing was stored')
  // Last, deepest first: writing into a folder would change its mtime again.
  for (const [full, ms] of times.reverse()) await utimes(full, ms / 1000, ms / 1000)
}

async function putUploadedTree (node: NodeServices, request: FastifyRequest): Promise<object> {
  const query = parse(treeQuery, request.query)
  const name = checkFileName(query.name)
  const reader = new BodyReader(request.raw)
  let header: unknown
  try {
    header = JSON.parse(await reader.line(MAX_HEADER_BYTES))
  } catch (err) {
    if (err instanceof VaultError) throw err
    throw new VaultError('BAD_INPUT', 'the folder\'s list of entries is not JSON')
  }
  const { entries } = parse(headerSchema, header)
  checkUploadEntries(entries)
  const root = join(node.vault.store.tmpDir, `upload-${randomBytes(8).toString('hex')}`)
  try {
    await stageTree(reader, root, entries)
    return await node.vault.putTree(root, { name, replicas: query.replicas })
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

export function treeUploadRoutes (app: FastifyInstance, node: NodeServices): void {
  // As for a file's upload: the raw body reaches the route unparsed, whatever its Content-Type.
  void app.register(async (uploads) => {
    uploads.removeAllContentTypeParsers()
    uploads.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })
    uploads.addHook('preParsing', async (request) => { delete request.headers['content-type'] })
    uploads.post('/api/trees', async (request, reply) => await reply.status(201).send(await putUploadedTree(node, request)))
  })
}
