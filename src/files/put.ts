// put: stream → chunks → sealed blobs in storage/<own id>/ → sealed manifest → catalog.
// The catalog row stays 'pending' until the manifest is durable, so a crash never lists a half file;
// the pending row also keeps this put's chunks safe from a concurrent rm's garbage collection.
import { chunkStream, DEFAULT_CHUNKING } from '../chunker/index.ts'
import { sealChunk, sealManifest } from '../crypto/index.ts'
import { VaultError, toVaultError } from '../errors.ts'
import type { VaultContext } from './vault-context.ts'
import { replication, storedTarget, widestTarget, type ReplicaTarget } from '../redundancy/index.ts'
import { storeBlob } from './blobs.ts'
import { checkFileName, type Manifest } from './manifest.ts'
import { noteStreamed } from '../runtime/index.ts'
import { TaskWindow } from '../concurrency/index.ts'
import { ShortfallTally, type Shortfall } from './shortfall.ts'
import { versionTime } from './versions.ts'
import type { SyncBatch } from '../store/index.ts'

export interface PutOptions {
  name: string
  mtime?: Date
  /** When the sender announced a size, a stream that ends early is a truncated upload. */
  expectedSize?: number
  /** Copies wanted in all, the owner's counted. */
  replicas?: ReplicaTarget
  onProgress?: (bytes: number) => void
  /** The source's buffers are the put's to free once chunked (a file the node reads itself). */
  ownedSource?: boolean
}

export interface PutResult {
  id: string
  name: string
  size: number
  /** Copies reached, the owner's counted. */
  replicas: number
  target: ReplicaTarget
  /** Fewer copies than the target: the rest are made when peers appear. */
  underReplicated: boolean
  /** With `underReplicated`: why the copies are missing (holders per refusal code, NO_PEERS). */
  shortfall?: Shortfall
}

/**
 * Chunks being sealed, written and replicated at once. Sealing and writing run on worker threads
 * (workers/), so this is what lets a put use every core and overlap crypto with fsync and network;
 * it also bounds memory (each in-flight chunk holds at most 4 MiB of plaintext and its sealed
 * copy). 6: measured on 2 cores, 4 left the CPU idle behind fsyncs (0.48× → 0.70× of the limit).
 * The byte cap keeps memory flat when the chunks are big (low-entropy data hits the 4 MiB maximum):
 * a 1 GiB file of zeros peaked at 275 MiB RSS with the count alone.
 */
const CHUNKS_IN_FLIGHT = 6
const BYTES_IN_FLIGHT = 8 * 1024 * 1024

export async function putFile (ctx: VaultContext, source: AsyncIterable<Uint8Array>, options: PutOptions): Promise<PutResult> {
  const name = checkFileName(options.name)
  const { catalog } = ctx
  const target = options.replicas ?? 1
  const row = catalog.beginFile()
  const tally = new ShortfallTally()
  const chunks: Manifest['chunks'] = []
  const inflight = new TaskWindow({ tasks: CHUNKS_IN_FLIGHT, bytes: BYTES_IN_FLIGHT })
  let size = 0
  let done = 0
  let result: PutResult | undefined
  try {
    for await (const plain of chunkStream(source, DEFAULT_CHUNKING, options.ownedSource === true)) {
      inflight.throwIfFailed()
      const seq = chunks.length
      chunks.push({ id: '', key: '', size: plain.length }) // filled in when sealed; order is by seq
      size += plain.length
      noteStreamed(plain.length)
      if (options.expectedSize !== undefined && size > options.expectedSize) {
        throw new VaultError('BAD_INPUT', `upload is larger than the announced ${options.expectedSize} bytes`)
      }
      inflight.track(sealAndStore(ctx, row, seq, plain, target, tally), plain.length, (sealed) => { chunks[seq] = sealed; done += sealed.size; options.onProgress?.(done) })
      await inflight.room()
    }
    await inflight.settled()
    inflight.throwIfFailed()
    if (options.expectedSize !== undefined && size !== options.expectedSize) {
      throw new VaultError('TRUNCATED', `upload ended after ${size} of ${options.expectedSize} bytes; nothing was stored`)
    }
    const manifest: Manifest = { v: 1, name, size, mtime: (options.mtime ?? new Date()).toISOString(), ctime: versionTime(catalog.byName(name)), chunks, target: storedTarget(target) }
    result = await commitManifest(ctx, row, manifest, target, tally)
  } catch (err) {
    await inflight.settled()
    await abandonPut(ctx, row)
    throw toVaultError(err)
  }
  await afterCommit(ctx)
  return result!
}

/**
 * A put's commit, once every chunk is stored: the sealed manifest is stored and copied, its add
 * record made durable, and the row completed (listed).
 */
export async function commitManifest (ctx: VaultContext, row: number, manifest: Manifest, target: ReplicaTarget, tally = new ShortfallTally()): Promise<PutResult> {
  const { catalog, vaultKey } = ctx
  const sealed = sealManifest(vaultKey, manifest)
  catalog.claimManifest(row, sealed.id)
  await storeBlob(ctx, sealed.id, sealed.sealed, target, { tally })
  // The file exists once its add record is durable here and copied as its manifest is.
  const record = await ctx.journal.append('add', sealed.id, widestTarget(target, ctx.defaultReplicas))
  const replicas = 1 + catalog.holders.minHolders(row, sealed.id)
  catalog.durably(() => catalog.transaction(() => {
    catalog.completeFile(row, { id: sealed.id, name: manifest.name, size: manifest.size, mtime: manifest.mtime, ctime: manifest.ctime, replicas, target, kind: manifest.kind ?? 'file', files: manifest.files ?? 1 })
    catalog.journal.complete([record])
  }))
  // Without a network 'all' stands for the owner's copy alone, as it always has.
  const durable = replication.isDurable(replicas, target, ctx.redundancy.reachablePeers())
  const result: PutResult = { id: sealed.id, name: manifest.name, size: manifest.size, replicas, target, underReplicated: !durable }
  if (!durable) {
    const missing = replication.copiesWanted(target, ctx.redundancy.reachablePeers()) - replicas
    result.shortfall = tally.result(missing)
    // Kept per file (the dashboard's badge says why); copies short with no refusal had no peer.
    const report = tally.report()
    catalog.shortfalls.replace(row, [{ ...report, noPeers: report.refused.length === 0 ? Math.max(report.noPeers, missing) : report.noPeers }])
  }
  return result
}

/** A put that failed: its pending row goes, and with it every blob no other file uses. */
export async function abandonPut (ctx: VaultContext, row: number): Promise<void> {
  const { catalog } = ctx
  // On a full disk the clean-up itself may fail: the row stays pending and the next start drops
  // it; the caller still learns the first failure (DISK_FULL), not the clean-up's.
  try {
    // The manifest too, when it was claimed (the row knows it): it may already be on holders.
    const manifest = catalog.fileIdOf(row)
    await ctx.collector.collect([...catalog.deleteFile(row), ...(manifest === undefined ? [] : [manifest])])
  } catch {}
}

/**
 * After the commit: the new file is listed. Same name again: it is the name's newest version, and
 * the older ones stay (files/versions.ts) until rm or prune removes them.
 */
export async function afterCommit (ctx: VaultContext): Promise<void> {
  await ctx.journal.maybeCheckpoint()
}

/** Seals one chunk, records it in the pending file (before it touches the disk, so a crash or a
 * concurrent rm knows it), then stores and replicates it. */
async function sealAndStore (ctx: VaultContext, row: number, seq: number, plain: Uint8Array, target: ReplicaTarget, tally: ShortfallTally): Promise<Manifest['chunks'][number]> {
  const chunk = await sealChunk(ctx.vaultKey, plain, { consume: true })
  ctx.catalog.addChunk(row, seq, chunk.id, chunk.size)
  await storeBlob(ctx, chunk.id, chunk.sealed, target, { tally })
  return { id: chunk.id, key: chunk.key, size: chunk.size }
}
