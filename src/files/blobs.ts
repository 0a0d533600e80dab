// The owner's blobs: written durably to its folder and copied (storeBlob); deleted, here and on
// their holders, once no file, put in progress or journal record uses them (BlobCollector).
import type { ReplicaTarget } from '../redundancy/index.ts'
import type { SyncBatch } from '../store/index.ts'
import type { OwnerContext } from './context.ts'
import type { ShortfallTally } from './shortfall.ts'

export interface StoreBlobOptions {
  /** Learns why copies are missing, if any are. */
  tally?: ShortfallTally
  /** The local copy is durable once this batch is flushed (a folder's many blobs), not on return. */
  batch?: SyncBatch
  /** Peers that get a copy too, beyond the target (Redundancy.replicate). */
  alongside?: string[]
}

/** Writes a sealed blob to the owner's folder durably (or into `batch`), then has its copies made on peers. */
export async function storeBlob (ctx: OwnerContext, id: string, sealed: Buffer, target: ReplicaTarget, options: StoreBlobOptions = {}): Promise<void> {
  const copies = target !== 1 && ctx.redundancy.makesCopies
  // No copies to make: the store may take the buffer to its writer thread as it is.
  await ctx.store.put(ctx.nodeId, id, sealed, true, !copies, options.batch)
  if (!copies) return
  const { holders, shortfall } = await ctx.redundancy.replicate(id, sealed, target, { alongside: options.alongside })
  ctx.catalog.holders.add(id, holders)
  options.tally?.add(shortfall)
}

export class BlobCollector {
  private readonly ctx: OwnerContext

  constructor (ctx: OwnerContext) {
    this.ctx = ctx
  }

  /** Deletes these of the owner's blobs unless a file (or a put in progress) uses them again. */
  async collect (blobIds: string[]): Promise<void> {
    const { store, catalog, nodeId } = this.ctx
    const deleted: string[] = []
    for (const id of blobIds) {
      if (await store.delete(nodeId, id, () => catalog.isReferenced(id))) deleted.push(id)
      else if (!catalog.isReferenced(id)) deleted.push(id) // gone locally already; holders may still have it
    }
    if (deleted.length === 0) return
    // Remembered, so the holder sweep can drop copies no deletion message ever reached.
    catalog.journal.bury(deleted)
    await this.ctx.redundancy.removed(deleted)
  }

  /** Deletes every blob of this owner's folder that nothing (file, put in progress, journal) uses. */
  async collectOrphans (): Promise<number> {
    const orphans: string[] = []
    for await (const id of this.ctx.store.list(this.ctx.nodeId)) {
      if (!this.ctx.catalog.isReferenced(id)) orphans.push(id)
    }
    // Through collect(), so the holders that got copies of them are told too.
    await this.collect(orphans)
    return orphans.length
  }
}
