// A folder's listing: one NDJSON line per entry, in walk order (component by component, each
// folder's entries sorted), the root first (path ""). It is content like a file's bytes: chunked,
// sealed and stored as chunks, so holders see only chunks, a big tree is many ~1 MiB blobs, and
// two versions of a tree share the chunks of the parts of the listing that did not change.
// Every line is checked on the way in: the listing is data a capability holder did not write.
import { z } from 'zod'
import { VaultError } from '../errors.ts'
import { blobIdSchema, hexBytesSchema } from '../ids/index.ts'



/** One path component: what a file system folder can hold (no "/", no NUL, not "." or ".."). */
function isComponent (part: string): boolean {
  return part.length > 0 && part !== '.' && part !== '..' && !part.includes('/') && !part.includes('\0') && Buffer.byteLength(part) <= 255
}

/** A path inside the tree: "" (the root) or components joined by "/". */
export function isTreePath (path: string): boolean {
  return path === '' || (Buffer.byteLength(path) <= 65_536 && path.split('/').every(isComponent))
}

const treeEntrySchema = z.object({
  path: z.string().max(65_536).refine(isTreePath, 'not a path inside the folder'),
  type: z.enum(['file', 'dir', 'symlink']),
  mode: z.number().int().min(0).max(0o7777),
  /** Milliseconds since the epoch. */
  mtime: z.number().finite(),
  size: z.number().int().nonnegative(),
  /** A symlink's target text, stored as it is, never followed. */
  target: z.string().max(65_536).optional(),
  /** A file's chunks: [id, key, size]. */
  chunks: z.array(z.tuple([blobIdSchema, hexBytesSchema(32), z.number().int().positive()])).optional()
})

export type TreeEntry = z.infer<typeof treeEntrySchema>

/** A file's chunks as the manifest shape the readers take. */
export function entryChunks (entry: TreeEntry): Array<{ id: string, key: string, size: number }> {
  return (entry.chunks ?? []).map(([id, key, size]) => ({ id, key, size }))
}

/** Walk order: component by component (a folder's whole subtree before its next sibling). */
export function compareTreePaths (a: string, b: string): number {
  if (a === b) return 0
  if (a === '') return -1
  if (b === '') return 1
  const pa = a.split('/')
  const pb = b.split('/')
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1
  }
  return pa.length - pb.length
}

export function parentOf (path: string): string {
  const at = path.lastIndexOf('/')
  return at < 0 ? '' : path.slice(0, at)
}

export function encodeEntry (entry: TreeEntry): Buffer {
  return Buffer.from(JSON.stringify(entry) + '\n')
}

/** Longest listing line: a file of ~100 GiB lists ~100,000 chunks of ~140 bytes. */
const MAX_LINE_BYTES = 32 * 1024 * 1024

/**
 * The entries of a listing's bytes, checked: each line's shape, the order (strictly increasing, so
 * no path twice), the root first, a file's sizes adding up, and each entry's parent a folder listed
 * before it (never a link: nothing is ever written through one).
 */
export async function * parseListing (bytes: AsyncIterable<Buffer>): AsyncGenerator<TreeEntry> {
  let pending: Buffer[] = []
  let pendingBytes = 0
  let previous: string | undefined
  const dirs: string[] = [] // the folders on the path to the current entry (flat: depth, not size)
  const check = (line: Buffer): TreeEntry => {
    let value: unknown
    try { value = JSON.parse(line.toString('utf8')) } catch { throw corrupt('a line is not JSON') }
    const parsed = treeEntrySchema.safeParse(value)
    if (!parsed.success) throw corrupt(`an entry has an unexpected shape (${parsed.error.issues[0]?.message ?? 'invalid'})`)
    const e = parsed.data
    if (previous === undefined) {
      if (e.path !== '' || e.type !== 'dir') throw corrupt('it does not start with its root folder')
    } else {
      if (compareTreePaths(previous, e.path) >= 0) throw corrupt('its entries are out of order or repeated')
      const parent = parentOf(e.path)
      while (dirs.length > 0 && dirs[dirs.length - 1] !== parent) dirs.pop()
      if (dirs.length === 0) throw corrupt(`"${e.path}" is not inside a folder of the listing`)
    }
    if (e.type === 'file' && (e.chunks ?? []).reduce((n, c) => n + c[2], 0) !== e.size) throw corrupt('a file\'s sizes do not add up')
    if (e.type === 'symlink' && e.target === undefined) throw corrupt('a link has no target')
    if (e.type === 'dir') dirs.push(e.path)
    previous = e.path
    return e
  }
  for await (const part of bytes) {
    let from = 0
    for (let nl = part.indexOf(10, from); nl >= 0; nl = part.indexOf(10, from)) {
      pending.push(part.subarray(from, nl))
      const line = pending.length === 1 ? pending[0] : Buffer.concat(pending)
      pending = []
      pendingBytes = 0
      from = nl + 1
      yield check(line)
    }
    if (from < part.length) {
      pending.push(Buffer.from(part.subarray(from)))
      pendingBytes += part.length - from
      if (pendingBytes > MAX_LINE_BYTES) throw corrupt('a line is too long')
    }
  }
  if (pendingBytes > 0) throw corrupt('it ends in the middle of a line')
  if (previous === undefined) throw corrupt('it is empty')
}

function corrupt (why: string): VaultError {
  return new VaultError('CORRUPT', `the folder's listing is damaged: ${why}`)
}
