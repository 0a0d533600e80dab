// The on-disk store of sealed blobs (chunks and manifests), one folder per owner:
// storage/<owner-id>/<2 hex>/<2 hex>/<blob id>. Blobs are content-addressed (SHA-256 of the
// sealed bytes), written atomically through storage/.tmp, and verified on every read.
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { VaultError, toVaultError } from '../errors.ts'
import { sha256HexAsync, sha256Keep } from '../crypto/index.ts'
import { offloads, runJob } from '../workers/index.ts'
import { fsyncPath, SyncBatch } from './sync-batch.ts'
import { writeBlobJob } from './jobs.ts'
import { writeBlobShared } from './blob-file-async.ts'
import { byteLength } from '../buffers/index.ts'
import { isBlobId, isNodeId, parseBlobId, parseNodeId } from '../ids/index.ts'

// Owner IDs become folder names: only base58 node IDs are allowed, so no path tricks.
export const assertBlobId: (id: string) => void = parseBlobId
export const assertOwnerId: (owner: string) => void = parseNodeId

export class BlobStore {
  readonly root: string
  readonly tmpDir: string
  /** Bytes held per owner folder, counted once at start and kept current by put/delete. */
  private readonly bytesByOwner = new Map<string, number>()
  /** Per-blob locks: a put and a delete of one blob never interleave (dedup vs. garbage collection). */
  private readonly locks = new Map<string, Promise<unknown>>()
  /** Blob files written by a SyncBatch and not yet flushed (a count per path: several batches may note one). */
  private readonly unsynced = new Map<string, number>()

  constructor (root: string) {
    this.root = root
    this.tmpDir = join(root, '.tmp')
  }

  async start (): Promise<void> {
    // Temp files left by a crash are never referenced: drop them all.
    await rm(this.tmpDir, { recursive: true, force: true })
    await mkdir(this.tmpDir, { recursive: true })
    this.bytesByOwner.clear()
    for (const owner of await this.owners()) {
      let total = 0
      for await (const id of this.list(owner)) total += await this.size(owner, id).catch(() => 0)
      this.bytesByOwner.set(owner, total)
    }
  }

  private count (owner: string, delta: number): void {
    this.bytesByOwner.set(owner, Math.max(0, (this.bytesByOwner.get(owner) ?? 0) + delta))
  }

  pathOf (owner: string, id: string): string {
    assertOwnerId(owner)
    assertBlobId(id)
    return join(this.root, owner, id.slice(0, 2), id.slice(2, 4), id)
  }

  async has (owner: string, id: string): Promise<boolean> {
    try {
      await stat(this.pathOf(owner, id))
      return true
    } catch {
      return false
    }
  }

  private async withLock<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const settled = run.catch(() => {})
    this.locks.set(key, settled)
    try {
      return await run
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key)
    }
  }

  /**
   * Stores `data` as blob `id` durably. Idempotent. The hash is checked unless the caller has
   * just computed it itself (`trusted`, the owner's own sealing), which saves a pass over the bytes.
   * `consume`: the caller is done with `data`, so a big blob moves to a worker thread uncopied
   * (and `data` is empty afterwards); without it a big blob is written from `data` itself, which
   * the caller may read meanwhile (forward, send) but must not change until this resolves. `batch`: not durable on return, but once `batch.flush()` is.
   */
  async put (owner: string, id: string, data: Uint8Array, trusted = false, consume = false, batch?: SyncBatch): Promise<void> {
    const target = this.pathOf(owner, id)
    if (!trusted) {
      // Consumed bytes go to the hashing worker and come back by transfer, not copied each way.
      const checked = consume ? await sha256Keep(data) : { hex: await sha256HexAsync(data), data }
      if (checked.hex !== id) throw new VaultError('CORRUPT', 'blob does not match its ID')
      data = checked.data
    }
    await this.withLock(`${owner}/${id}`, async () => await this.write(target, owner, id, data, consume, batch))
  }

  /**
   * Stores a blob given as the pieces it arrived in (a chained copy straight from the socket's
   * buffers), durably, written with writev: no 1 MiB assembly copy, no worker. The caller has
   * checked SHA-256(pieces) = `id` already (it hashed them as they are); the pieces are only read.
   */
  async putPieces (owner: string, id: string, pieces: readonly Uint8Array[]): Promise<void> {
    await this.withLock(`${owner}/${id}`, async () => await this.write(this.pathOf(owner, id), owner, id, pieces, false))
  }

  /** A batch of puts made durable together (sync-batch.ts): for the many small blobs of one folder's put. */
  syncBatch (): SyncBatch {
    return new SyncBatch(this.root, {
      add: (path) => { this.unsynced.set(path, (this.unsynced.get(path) ?? 0) + 1) },
      synced: (paths) => {
        for (const path of paths) {
          const n = (this.unsynced.get(path) ?? 1) - 1
          if (n <= 0) this.unsynced.delete(path)
          else this.unsynced.set(path, n)
        }
      }
    })
  }

  /**
   * The atomic write (temp file, fsync, rename, fsync of the folder; skipped when an intact copy is
   * there): a big blob the caller gives up as one job on a worker thread (store/blob-file.ts), the
   * rest through libuv's threads from here (blob-file-async.ts). A damaged copy never satisfies dedup:
   * the new put would point at bytes that never read back.
   */
  private async write (target: string, owner: string, id: string, data: Uint8Array | readonly Uint8Array[], consume: boolean, batch?: SyncBatch): Promise<void> {
    const size = byteLength(data)
    const tmp = join(this.tmpDir, randomBytes(8).toString('hex'))
    let found: 'intact' | 'missing' | number
    try {
      // Bytes the caller keeps using (a chained copy it forwards, the owner's copy it sends) are
      // written from here through libuv's threads, straight from the caller's buffer: a worker
      // would need a copy of them (the worker path moves only bytes the caller gives up).
      // Pieces (putPieces) are written with writev from where they are, never joined for a worker.
      // A small blob too (a journal checkpoint, a manifest): a worker thread costs a few tenths of a
      // CPU-second to start, far more than these writes, and a node that stores only small blobs
      // (every node at start: the journal's checkpoint) then never starts one.
      if (!(data instanceof Uint8Array) || !consume || !offloads(size)) found = await writeBlobShared(tmp, target, id, data, batch === undefined)
      else ({ found } = await runJob(writeBlobJob, { id, tmp, target, data, sync: batch === undefined }, consume))
      // An intact copy that another put's batch wrote and has not flushed yet is not durable: this
      // put must not rely on it before it is (its own batch's flush, or an fsync now).
      const pending = found === 'intact' && this.unsynced.has(target)
      if (batch !== undefined && (found !== 'intact' || pending)) batch.note(target, size)
      else if (pending) await fsyncPath(target).then(async () => await fsyncPath(dirname(target)))
    } catch (err) {
      throw toVaultError(err) // inline (DV_WORKERS=0) the errno error arrives as it is
    }
    if (found !== 'intact') this.count(owner, size - (found === 'missing' ? 0 : found))
  }

  /** Reads a blob and checks its hash: a corrupt or missing blob never reaches the caller. */
  async get (owner: string, id: string): Promise<Buffer> {
    const data = await this.getUnverified(owner, id)
    if (data === undefined) throw new VaultError('NOT_FOUND', `blob ${id.slice(0, 12)}… is not stored here`)
    const checked = await sha256Keep(data)
    if (checked.hex !== id) throw new VaultError('CORRUPT', `blob ${id.slice(0, 12)}… is corrupt on disk`)
    return checked.data
  }

  /**
   * Reads a blob's bytes WITHOUT checking them, or undefined if it is not stored here: only for a
   * caller that verifies the hash itself in the same pass as its own work (openChunk does).
   */
  async getUnverified (owner: string, id: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(owner, id))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw toVaultError(err)
    }
  }

  /** Reads the first bytes of a blob, unverified: only for recognising manifests by their header. */
  async head (owner: string, id: string, bytes: number): Promise<Buffer> {
    const fh = await open(this.pathOf(owner, id), 'r')
    try {
      const buf = Buffer.alloc(bytes)
      const { bytesRead } = await fh.read(buf, 0, bytes, 0)
      return buf.subarray(0, bytesRead)
    } finally {
      await fh.close()
    }
  }

  /** Deletes a blob, unless `stillWanted` (checked under the blob's lock) says a put now uses it. */
  async delete (owner: string, id: string, stillWanted?: () => boolean): Promise<boolean> {
    const path = this.pathOf(owner, id)
    return await this.withLock(`${owner}/${id}`, async () => {
      if (stillWanted?.() === true) return false
      return await this.unlink(owner, path)
    })
  }

  private async unlink (owner: string, path: string): Promise<boolean> {
    try {
      const { size } = await stat(path)
      await rm(path)
      this.count(owner, -size)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
      throw toVaultError(err)
    }
  }

  async size (owner: string, id: string): Promise<number> {
    return (await stat(this.pathOf(owner, id))).size
  }

  async owners (): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => [])
    return entries.filter(e => e.isDirectory() && isNodeId(e.name)).map(e => e.name)
  }

  /** Every blob ID in one owner's folder, streamed so a huge folder is never listed in memory at once. */
  async * list (owner: string): AsyncGenerator<string> {
    assertOwnerId(owner)
    const base = join(this.root, owner)
    for (const a of await safeReaddir(base)) {
      for (const b of await safeReaddir(join(base, a))) {
        for (const name of await safeReaddir(join(base, a, b))) {
          if (isBlobId(name)) yield name
        }
      }
    }
  }

  /** Bytes held per owner folder. */
  usage (): Record<string, number> {
    return Object.fromEntries([...this.bytesByOwner].filter(([, bytes]) => bytes > 0))
  }
}

async function safeReaddir (dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort()
  } catch {
    return []
  }
}
