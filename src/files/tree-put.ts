// put of a whole folder on the node's own machine, as ONE catalog entry: its files' chunks are
// sealed and stored exactly as a file's, each file's chunk list goes inline into its listing line,
// and the listing itself is chunked and sealed like file bytes (tree-listing.ts); the root manifest
// (kind 'tree') lists the listing's chunks. No manifest blob and no transaction per file: chunk
// rows are claimed in batches. Memory stays flat: a bounded window of files in flight, one folder's
// names per level of depth, and the previous version's listing read in step with the walk.
import { realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { chunkStream, DEFAULT_CHUNKING } from '../chunker/index.ts'
import { sealChunk } from '../crypto/index.ts'
import { VaultError, toVaultError } from '../errors.ts'
import { Slots, TaskWindow } from '../concurrency/index.ts'
import type { VaultContext } from './vault-context.ts'
import { storedTarget, type ReplicaTarget } from '../redundancy/index.ts'
import { openLocalFile } from './local-file.ts'
import { checkFileName, type Manifest } from './manifest.ts'
import { abandonPut, afterCommit, commitManifest, type PutResult } from './put.ts'
import { storeBlob } from './blobs.ts'
import { ShortfallTally } from './shortfall.ts'
import type { SyncBatch } from '../store/index.ts'
import { loadOwnManifest, readFileBytes } from './read.ts'
import { compareTreePaths, encodeEntry, parseListing, type TreeEntry } from './tree-listing.ts'
import { checkTree, walkTree, type WalkedEntry } from './tree-walk.ts'
import { loadTreeIgnore, type TreeSkip } from './tree-ignore.ts'
import { versionTime } from './versions.ts'

export interface TreePutOptions {
  name: string
  replicas?: ReplicaTarget
  onProgress?: (bytes: number) => void
  /** The folder sync that stores this version (sealed in its manifest: one writer per name). */
  syncWriter?: string
}

export interface TreePutResult extends PutResult { kind: 'tree', files: number, reused: number }

type Chunk = Manifest['chunks'][number]

/** Chunks being sealed and stored at once, and their bytes (as a file's put; small chunks: more). */
const CHUNKS_IN_FLIGHT = 32
const BYTES_IN_FLIGHT = 8 * 1024 * 1024
/** Files being read at once, and the bytes they may still hold between them. */
const FILES_IN_FLIGHT = 64
const FILE_BYTES_IN_FLIGHT = 32 * 1024 * 1024
/** Entries whose listing line is being made, in walk order: unchanged files, folders and links are
 * cheap, and a changed file being stored must not stall the walk (a window of 64 made a re-put wait
 * on each changed file's fsyncs in turn). */
const ENTRIES_AHEAD = 4096
/** Chunk rows claimed together: a batch waits at most this long, or until it is this big. */
const CLAIM_WAIT_MS = 5
const CLAIM_BATCH = 256

/**
 * The chunk rows of one put, claimed in batches: the claims made within CLAIM_WAIT_MS (or until
 * CLAIM_BATCH rows wait) go into one transaction. A chunk is claimed before its blob is written (as
 * putFile does), so a concurrent rm never deletes a blob this put is about to use.
 */
class ChunkClaims {
  private seq = 0
  private batch: Array<{ seq: number, id: string, size: number }> = []
  private waiting: { promise: Promise<void>, resolve: () => void, reject: (err: unknown) => void, timer: NodeJS.Timeout } | undefined
  /** The first batch the catalog refused: an unchanged file's claims are not awaited, so settle() reports it. */
  private failure: { err: unknown } | undefined
  private readonly ctx: VaultContext
  private readonly row: number

  constructor (ctx: VaultContext, row: number) {
    this.ctx = ctx
    this.row = row
  }

  async claim (chunks: Array<{ id: string, size: number }>): Promise<void> {
    for (const c of chunks) this.batch.push({ seq: this.seq++, id: c.id, size: c.size })
    if (this.waiting === undefined) {
      let resolve!: () => void
      let reject!: (err: unknown) => void
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
      this.waiting = { promise, resolve, reject, timer: setTimeout(() => this.flush(), CLAIM_WAIT_MS) }
    }
    const { promise } = this.waiting
    if (this.batch.length >= CLAIM_BATCH) this.flush()
    await promise
  }

  /** Every claim made so far is in the catalog (or the put fails with the catalog's error, whichever batch it was). */
  async settle (): Promise<void> {
    const waiting = this.waiting
    this.flush()
    await waiting?.promise
    // A refused batch of unchanged files' claims: committed, this version would not claim those
    // chunks, and removing the older version (prune) would collect them from under it.
    if (this.failure !== undefined) throw this.failure.err
  }

  private flush (): void {
    const waiting = this.waiting
    if (waiting === undefined) return
    clearTimeout(waiting.timer)
    const batch = this.batch
    this.batch = []
    this.waiting = undefined
    try {
      this.ctx.catalog.addChunks(this.row, batch)
      waiting.resolve()
    } catch (err) {
      this.failure ??= { err }
      waiting.reject(err)
    }
  }
}

/** Seals and stores chunks, a bounded number at once, for every file of the tree together. */
class SealPipeline {
  private readonly inflight = new TaskWindow({ tasks: CHUNKS_IN_FLIGHT, bytes: BYTES_IN_FLIGHT })
  done = 0

  private readonly ctx: VaultContext
  private readonly claims: ChunkClaims
  private readonly target: ReplicaTarget
  private readonly onProgress?: (bytes: number) => void
  /** Why copies of the tree's blobs are missing, if any are. */
  readonly tally = new ShortfallTally()
  /** The blobs written without an fsync each: durable at once before the commit (store/sync-batch.ts). */
  readonly batch: SyncBatch

  constructor (ctx: VaultContext, claims: ChunkClaims, target: ReplicaTarget, onProgress?: (bytes: number) => void) {
    this.ctx = ctx
    this.claims = claims
    this.target = target
    this.onProgress = onProgress
    this.batch = ctx.store.syncBatch()
  }

  /** Waits for room, then starts the chunk; resolves with its sealed reference to come. */
  async submit (plain: Uint8Array): Promise<{ job: Promise<Chunk> }> {
    await this.inflight.room()
    this.inflight.throwIfFailed()
    const size = plain.length
    const job = this.sealAndStore(plain)
    this.inflight.track(job, size, () => { this.done += size; this.onProgress?.(this.done) })
    job.catch(() => {}) // observed through the window's failure and by whoever awaits it
    return { job }
  }

  private async sealAndStore (plain: Uint8Array): Promise<Chunk> {
    const chunk = await sealChunk(this.ctx.vaultKey, plain, { consume: true })
    await this.claims.claim([chunk])
    await storeBlob(this.ctx, chunk.id, chunk.sealed, this.target, { tally: this.tally, batch: this.batch })
    return { id: chunk.id, key: chunk.key, size: chunk.size }
  }

  /** Every chunk submitted is stored (and its copies made); not yet durable here: see `batch`. */
  async drain (): Promise<void> {
    await this.inflight.settled()
    this.inflight.throwIfFailed()
  }
}

/** The previous version's entries, read in step with the walk (both in listing order). */
class PreviousListing {
  private current: TreeEntry | undefined
  private ended = false

  private readonly entries: AsyncGenerator<TreeEntry> | undefined

  constructor (entries: AsyncGenerator<TreeEntry> | undefined) {
    this.entries = entries
    if (entries === undefined) this.ended = true
  }

  private chain: Promise<unknown> = Promise.resolve()

  /** Asked in walk order; the lookups run one after another, whoever awaits them. */
  async find (path: string): Promise<TreeEntry | undefined> {
    const found = this.chain.then(async () => await this.advance(path))
    this.chain = found.catch(() => {})
    return await found
  }

  private async advance (path: string): Promise<TreeEntry | undefined> {
    while (!this.ended && (this.current === undefined || compareTreePaths(this.current.path, path) < 0)) {
      const next = await this.entries!.next()
      if (next.done === true) { this.ended = true; this.current = undefined } else this.current = next.value
    }
    return this.current?.path === path ? this.current : undefined
  }
}

/** The entries of one of this owner's trees, streamed and checked. */
export async function * ownTreeEntries (ctx: VaultContext, owner: string, manifest: Manifest, signal?: AbortSignal): AsyncGenerator<TreeEntry> {
  const listingSize = manifest.chunks.reduce((n, c) => n + c.size, 0)
  if (listingSize === 0) throw new VaultError('CORRUPT', 'the folder\'s listing is empty')
  yield * parseListing(readFileBytes(ctx, owner, { ...manifest, size: listingSize }, undefined, signal))
}

export async function putTree (ctx: VaultContext, root: string, options: TreePutOptions): Promise<TreePutResult> {
  const name = checkFileName(options.name)
  // Every problem first, all of them, before the first byte is stored. The root's .dvignore is read
  // once: the check and the walk leave out the same entries.
  const skip = await loadTreeIgnore(root)
  const check = await checkTree(root, skip)
  if (check.problems.length > 0) throw new VaultError('BAD_INPUT', `nothing was stored; the folder ${root} cannot be stored as it is:\n${check.problems.join('\n')}`)
  const { catalog } = ctx
  const target = options.replicas ?? 1
  const before = catalog.byName(name)
  const previous = new PreviousListing(before?.kind === 'tree' ? ownTreeEntries(ctx, ctx.nodeId, await loadOwnManifest(ctx, before.id)) : undefined)
  const row = catalog.beginFile()
  const claims = new ChunkClaims(ctx, row)
  const pipeline = new SealPipeline(ctx, claims, target, options.onProgress)
  const stats = { files: 0, bytes: 0, reused: 0 }
  let rootMtime = new Date()
  let result: PutResult
  try {
    const listingChunks: Array<Promise<Chunk>> = []
    const lines = listingLines(root, await realpath(root), skip, previous, pipeline, claims, stats, (m) => { rootMtime = m })
    // Not owned: a short line's buffer may be a slice of Node's shared pool.
    for await (const plain of chunkStream(lines, DEFAULT_CHUNKING, false)) {
      listingChunks.push((await pipeline.submit(plain)).job)
    }
    await pipeline.drain()
    const chunks = await Promise.all(listingChunks)
    // Every blob of the tree durable here before its manifest and add record are written.
    await pipeline.batch.flush()
    await claims.settle()
    // Files reused from the previous version rely on its blobs: if it was removed meanwhile (a
    // concurrent rm), some may be gone, and this put must not claim them.
    if (stats.reused > 0 && before !== undefined && catalog.rowOf(before.id) === undefined) {
      throw new VaultError('BUSY', `"${name}" was removed while it was stored again; nothing was stored, put it again`)
    }
    const manifest: Manifest = { v: 1, kind: 'tree', name, size: stats.bytes, files: stats.files, mtime: rootMtime.toISOString(), ctime: versionTime(catalog.byName(name)), chunks, target: storedTarget(target), ...(options.syncWriter === undefined ? {} : { syncWriter: options.syncWriter }) }
    result = await commitManifest(ctx, row, manifest, target, pipeline.tally)
  } catch (err) {
    await pipeline.drain().catch(() => {})
    // Claims still waiting for their batch (an unchanged file's reused chunks) go in now, before
    // the row is deleted with its claims: never into a row number a later put is given.
    await claims.settle().catch(() => {})
    await abandonPut(ctx, row)
    throw toVaultError(err)
  }
  await afterCommit(ctx)
  return { ...result, kind: 'tree', files: stats.files, reused: stats.reused }
}

/** The listing's bytes, line by line in walk order, while the files' chunks are stored. */
async function * listingLines (root: string, realRoot: string, skip: TreeSkip | undefined, previous: PreviousListing, pipeline: SealPipeline, claims: ChunkClaims, stats: { files: number, bytes: number, reused: number }, onRoot: (mtime: Date) => void): AsyncGenerator<Buffer> {
  const window: Array<Promise<Buffer>> = []
  // Room for the files being read and stored: a count and their bytes, granted in walk order.
  const slots = new Slots({ tasks: FILES_IN_FLIGHT, bytes: FILE_BYTES_IN_FLIGHT })
  const walkProblem = (message: string): void => { throw new VaultError('BAD_INPUT', `the folder changed while it was stored: ${message}`) }
  try {
    for await (const entry of walkTree(root, walkProblem, skip)) {
      if (entry.path === '') onRoot(entry.stat.mtime)
      const line = entryLine(entry, join(realRoot, entry.path), previous, pipeline, claims, slots, stats)
      line.catch(() => {}) // awaited below in order
      window.push(line)
      while (window.length >= ENTRIES_AHEAD) yield await window.shift()!
    }
    for (const line of window) yield await line
  } finally {
    // A put that fails (the folder changed, a file could not be read) ends only once the files in
    // flight have: else they went on sealing, storing and claiming chunks for its row after the
    // put had deleted it, and a later put given the same row number found those claims in it.
    await Promise.allSettled(window)
  }
}

async function entryLine (walked: WalkedEntry, realPath: string, previous: PreviousListing, pipeline: SealPipeline, claims: ChunkClaims, slots: Slots, stats: { files: number, bytes: number, reused: number }): Promise<Buffer> {
  const { path, stat } = walked
  const mtime = stat.mtimeMs
  // Looked up in walk order (before any await), so the previous listing is read in step.
  const old = await previous.find(path)
  if (walked.type === 'dir') return encodeEntry({ path, type: 'dir', mode: stat.mode & 0o7777, mtime, size: 0 })
  if (walked.type === 'symlink') return encodeEntry({ path, type: 'symlink', mode: 0o777, mtime, size: 0, target: walked.target })
  stats.files++
  // Unchanged since the previous version (same size and mtime): its chunks are reused unread.
  if (old?.type === 'file' && old.size === stat.size && old.mtime === mtime) {
    stats.bytes += old.size
    stats.reused++
    // Not waited for: these blobs are the previous version's, which putTree checks is still there
    // once every claim is in (settle), before the commit. Waiting here stalled the walk.
    claims.claim((old.chunks ?? []).map(([id, , size]) => ({ id, size }))).catch(() => {})
    return encodeEntry({ ...old, mode: stat.mode & 0o7777 })
  }
  // Reads no bigger than the file (+1 to see its end in one read): a folder of small files must not
  // hold a 1 MiB buffer for each file in flight (64 of them, and their read-ahead, were 200 MiB).
  await slots.take(stat.size)
  let chunks: Chunk[]
  let size = 0
  try {
    // The very file the walk found (lstat), where it found it: not whatever the path leads to now.
    const file = await openLocalFile(walked.full, Math.min(1024 * 1024, stat.size + 1), { dev: stat.dev, ino: stat.ino, realPath })
    const jobs: Array<Promise<Chunk>> = []
    try {
      for await (const plain of chunkStream(file.bytes, DEFAULT_CHUNKING, true)) {
        size += plain.length
        jobs.push((await pipeline.submit(plain)).job)
      }
    } finally {
      await file.close()
    }
    chunks = await Promise.all(jobs)
  } finally {
    slots.give(stat.size)
  }
  stats.bytes += size
  return encodeEntry({ path, type: 'file', mode: stat.mode & 0o7777, mtime, size, chunks: chunks.map(c => [c.id, c.key, c.size]) })
}
