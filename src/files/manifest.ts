// The manifest of one file: its name, size, times and the ordered list of its chunks with their
// keys. It only ever exists in clear inside the owner's node (or a capability holder's).
import { z } from 'zod'
import { VaultError } from '../errors.ts'
import { blobIdSchema, hexBytesSchema } from '../ids/index.ts'



export const manifestSchema = z.object({
  v: z.literal(1),
  name: z.string().min(1).max(4096),
  size: z.number().int().nonnegative(),
  mtime: z.string(),
  ctime: z.string(),
  chunks: z.array(z.object({ id: blobIdSchema, key: hexBytesSchema(32), size: z.number().int().positive() })),
  /** Copies wanted, the owner's counted (0 = every peer); kept so a recovered catalog keeps it. */
  target: z.number().int().min(0).max(64).optional(),
  /** 'tree': a folder; its chunks are its sealed listing (files/tree-listing.ts) and `size` is the
   * total of its files' bytes. Absent (manifests before folders) or 'file': a file's bytes. */
  kind: z.enum(['file', 'tree']).optional(),
  /** A tree's count of files (not folders or links). */
  files: z.number().int().nonnegative().optional(),
  /** The folder sync that wrote this version of a tree (sync/): a random ID per catalog, so a
   * node refuses to sync a name whose newest version another node's sync wrote. */
  syncWriter: z.string().regex(/^[0-9a-f]{32}$/).optional()
})

export type Manifest = z.infer<typeof manifestSchema>

export function parseManifest (value: unknown): Manifest {
  const parsed = manifestSchema.safeParse(value)
  if (!parsed.success) throw new VaultError('CORRUPT', 'manifest has an unexpected shape')
  const m = parsed.data
  if (m.kind !== 'tree' && m.chunks.reduce((n, c) => n + c.size, 0) !== m.size) throw new VaultError('CORRUPT', 'manifest sizes do not add up')
  return m
}

/**
 * File names are relative paths ("photos/2024/a.jpg"). Anything that could escape a folder when
 * the file is written back (absolute paths, "..", backslashes, control characters) is refused.
 */
export function checkFileName (raw: string): string {
  const name = raw.replace(/^(\.\/)+/, '')
  // A long name is quoted by its start and end only: an error line, not pages of it.
  const quoted = JSON.stringify(raw.length > 100 ? `${raw.slice(0, 60)}…${raw.slice(-20)}` : raw)
  const bad = (why: string, code: 'BAD_INPUT' | 'TOO_LARGE' = 'BAD_INPUT'): never => { throw new VaultError(code, `invalid file name ${quoted}: ${why}`) }
  if (name.length === 0) bad('it is empty')
  if (Buffer.byteLength(name) > 4096) bad(`it is ${Buffer.byteLength(name)} bytes, longer than 4096`, 'TOO_LARGE')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(name)) bad('it contains a control character or a backslash')
  if (name.startsWith('/')) bad('it must be relative')
  if (name.split('/').some(part => part === '..' || part === '.' || part === '')) bad('it has an empty, "." or ".." segment')
  return name
}
