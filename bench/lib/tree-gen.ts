// A deterministic folder tree for the bench: N files of log-uniform sizes (1 KiB–1 MiB by
// default) in nested folders, their bytes an AES-256-CTR keystream of a fixed seed (incompressible,
// no two chunks alike, the same on every run), and the "change 1 %" step of a re-put.
import { createCipheriv, createHash } from 'node:crypto'
import { mkdir, open, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface TreeSpec { files: number, minBytes: number, maxBytes: number, seed: string }
export interface GeneratedTree { root: string, files: string[], bytes: number }

/** mulberry32: a small seeded PRNG, so sizes and changed files are the same on every run. */
export function seededRandom (seed: string): () => number {
  let a = createHash('sha256').update(seed).digest().readUInt32LE(0)
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function keystream (seed: string, index: number, bytes: number, salt = 0): Buffer {
  const key = createHash('sha256').update(`tree:${seed}`).digest()
  const iv = Buffer.alloc(16)
  iv.writeUInt32BE(index, 0)
  iv.writeUInt32BE(salt, 4)
  return createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(bytes))
}

/** Where file i lives: 20 folders of 5 subfolders, files spread evenly, a few at the top. */
function relativePath (i: number): string {
  if (i % 97 === 0) return `top-${String(i).padStart(5, '0')}.bin`
  return join(`d${String(i % 20).padStart(2, '0')}`, `s${(i >> 5) % 5}`, `f${String(i).padStart(5, '0')}.bin`)
}

export async function generateTree (root: string, spec: TreeSpec): Promise<GeneratedTree> {
  const random = seededRandom(spec.seed)
  const logMin = Math.log(spec.minBytes)
  const logMax = Math.log(spec.maxBytes)
  const files: string[] = []
  let bytes = 0
  const made = new Set<string>()
  for (let i = 0; i < spec.files; i++) {
    const size = Math.floor(Math.exp(logMin + random() * (logMax - logMin)))
    const rel = relativePath(i)
    const dir = join(root, rel, '..')
    if (!made.has(dir)) { await mkdir(dir, { recursive: true }); made.add(dir) }
    const path = join(root, rel)
    await writeFile(path, keystream(spec.seed, i, size))
    files.push(path)
    bytes += size
  }
  return { root, files, bytes }
}

/**
 * Changes `fraction` of the files (chosen by `round`'s seed): 64 bytes overwritten in the middle
 * with other bytes, and the mtime moved forward a minute (so a change is seen even on a file
 * system with coarse timestamps). Returns how many files changed.
 */
export async function changeFiles (tree: GeneratedTree, fraction: number, round: number): Promise<number> {
  const random = seededRandom(`change:${round}`)
  const count = Math.max(1, Math.round(tree.files.length * fraction))
  const chosen = new Set<number>()
  while (chosen.size < count) chosen.add(Math.floor(random() * tree.files.length))
  const later = new Date(Date.now() + 60_000 * (round + 1))
  for (const i of chosen) {
    const path = tree.files[i]
    const fh = await open(path, 'r+')
    try {
      const { size } = await fh.stat()
      const patch = keystream('change', i, Math.min(64, size), round + 1)
      await fh.write(patch, 0, patch.length, Math.max(0, Math.floor(size / 2) - 32))
    } finally {
      await fh.close()
    }
    await utimes(path, later, later)
  }
  return count
}
