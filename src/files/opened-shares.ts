// Files opened by capability, kept for a short while: a get by capability asks for the file's info
// and then for the file itself (two requests), and on a node that holds nothing of that owner each
// open fetches the manifest from the holders. The opened file (its manifest checked against its
// hash and opened with the read key) is immutable, so the second open takes it from here.
import type { Manifest } from './manifest.ts'

/** How long an opened share is kept, and how much of it (chunk entries in all, ~160 bytes each). */
const KEEP_MS = 60_000
const MAX_CHUNK_ENTRIES = 64 * 1024

export interface OpenedShare { id: string, owner: string, name: string, size: number, mtime: string, manifest: Manifest }

export class OpenedShares {
  private readonly entries = new Map<string, { file: OpenedShare, until: number }>()
  private chunkEntries = 0
  private readonly now: () => number

  constructor (now: () => number = Date.now) {
    this.now = now
  }

  /** `key`: the capability string (file ID, owner and read key: one exact file). */
  get (key: string): OpenedShare | undefined {
    this.expire()
    return this.entries.get(key)?.file
  }

  set (key: string, file: OpenedShare): void {
    const size = file.manifest.chunks.length
    if (size > MAX_CHUNK_ENTRIES) return
    this.remove(key)
    while (this.chunkEntries + size > MAX_CHUNK_ENTRIES) this.remove(this.entries.keys().next().value!)
    this.entries.set(key, { file, until: this.now() + KEEP_MS })
    this.chunkEntries += size
  }

  private remove (key: string): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.entries.delete(key)
    this.chunkEntries -= entry.file.manifest.chunks.length
  }

  private expire (): void {
    const now = this.now()
    for (const [key, entry] of this.entries) if (entry.until <= now) this.remove(key)
  }
}
