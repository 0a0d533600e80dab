// GET /api/files/:ref/archive[?version=N|at=TIME]: a folder (any version) as a tar archive, so the
// dashboard can download a folder as it downloads a file. POSIX ustar, with a pax header for what
// ustar cannot hold (paths or link targets over 100 bytes, sizes of 8 GiB and more); streamed entry
// by entry from the vault, never held whole. The CLI's equivalent is `get NAME -o DIR`.
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { NodeServices } from '../services.ts'
import { VaultError } from '../../errors.ts'
import { fitFileName, type OpenFile, type TreeEntry } from '../../files/index.ts'
import { parse, parseVersionPick } from './files.ts'

const BLOCK = 512
const params = z.object({ ref: z.string().min(1).max(8192) })

function octal (value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0'
}

/** One pax record: "<length> key=value\n", the length counting itself. */
function paxRecord (key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let length = Buffer.byteLength(body) + 1
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body)
  return `${length}${body}`
}

function header (name: string, type: string, size: number, mode: number, mtimeMs: number, linkname = ''): Buffer {
  const h = Buffer.alloc(BLOCK)
  h.write(name, 0, 100, 'utf8')
  h.write(octal(mode & 0o7777, 8), 100, 'ascii')
  h.write(octal(0, 8), 108, 'ascii')
  h.write(octal(0, 8), 116, 'ascii')
  h.write(octal(size, 12), 124, 'ascii')
  h.write(octal(Math.max(0, Math.floor(mtimeMs / 1000)), 12), 136, 'ascii')
  h.write(' '.repeat(8), 148, 'ascii')
  h.write(type, 156, 'ascii')
  h.write(linkname, 157, 100, 'utf8')
  h.write('ustar\u000000', 257, 'binary')
  let sum = 0
  for (const byte of h) sum += byte
  h.write(octal(sum, 7) + ' ', 148, 'ascii')
  return h
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - size % BLOCK) % BLOCK)

/** The header block(s) of one entry: a pax header first when ustar's fields are too small. */
export function entryHeader (entry: TreeEntry): Buffer {
  const name = entry.type === 'dir' ? `${entry.path}/` : entry.path
  const type = entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0'
  const size = entry.type === 'file' ? entry.size : 0
  const link = entry.target ?? ''
  const pax = [
    Buffer.byteLength(name) > 100 ? paxRecord('path', name) : '',
    Buffer.byteLength(link) > 100 ? paxRecord('linkpath', link) : '',
    size >= 8 ** 11 ? paxRecord('size', String(size)) : ''
  ].join('')
  const main = header(Buffer.byteLength(name) > 100 ? 'pax-long-name' : name, type, size >= 8 ** 11 ? 0 : size, entry.mode, entry.mtime, Buffer.byteLength(link) > 100 ? '' : link)
  if (pax === '') return main
  const paxBytes = Buffer.from(pax, 'utf8')
  return Buffer.concat([header('PaxHeader', 'x', paxBytes.length, 0o644, entry.mtime), paxBytes, padding(paxBytes.length), main])
}

async function * tarOf (node: NodeServices, file: OpenFile, signal: AbortSignal): AsyncGenerator<Buffer> {
  for await (const entry of node.vault.treeEntries(file, signal)) {
    if (entry.path === '') continue
    yield entryHeader(entry)
    if (entry.type !== 'file') continue
    let size = 0
    for await (const part of node.vault.readTreeFile(file, entry, signal)) { size += part.length; yield part }
    if (size !== entry.size) throw new VaultError('CORRUPT', `"${entry.path}" has ${size} bytes, its listing says ${entry.size}`)
    yield padding(size)
  }
  yield Buffer.alloc(2 * BLOCK)
}

export function treeArchiveRoutes (app: FastifyInstance, node: NodeServices): void {
  app.get('/api/files/:ref/archive', async (request, reply) => {
    const { ref } = parse(params, request.params)
    const file = await node.vault.open(ref, parseVersionPick(request.query))
    if (file.manifest.kind !== 'tree') throw new VaultError('BAD_INPUT', `"${file.name}" is a file, not a folder: download it as it is`)
    const gone = new AbortController()
    reply.raw.on('close', () => { if (!reply.raw.writableFinished) gone.abort() })
    const leaf = fitFileName(`${file.name.split('/').pop() ?? 'folder'}.tar`)
    return await reply
      .header('content-type', 'application/x-tar')
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(leaf)}`)
      .header('x-dv-id', file.id)
      .send(Readable.from(tarOf(node, file, gone.signal)))
  })
}
