// rm of one file version, and what a crash left half-done: the remove record is durable (and
// copied) before any blob is deleted, so recover never brings a removed file back.
import type { FileRecord } from '../catalog/index.ts'
import { widestTarget } from '../redundancy/index.ts'
import type { VaultContext } from './vault-context.ts'

/** Removes a file: its remove record is durable (and copied) before any of its blobs is deleted. */
export async function removeFileRecord (ctx: VaultContext, record: FileRecord): Promise<void> {
  const target = widestTarget(record.target, ctx.defaultReplicas)
  const removal = await ctx.journal.append('remove', record.id, target)
  await ctx.collector.collect(finishRemoval(ctx, record.id, record.row, removal))
  await ctx.journal.maybeCheckpoint()
}

/** The removal's commit: the file row goes and its remove record becomes part of the history. */
function finishRemoval (ctx: VaultContext, fileId: string, row: number | undefined, removal: string): string[] {
  const { catalog } = ctx
  return catalog.durably(() => catalog.transaction(() => {
    catalog.journal.complete([removal])
    return row === undefined ? [] : [...catalog.deleteFile(row), fileId]
  }))
}

/**
 * After a crash: drops puts that never finished and every blob of this owner that no file uses
 * (chunks of a killed put, a manifest written just before the crash). Run before serving.
 * `orphans: false` keeps the unused blobs: a catalog just rebuilt that could not insert some file
 * the history lists (its manifest damaged here) does not use that file's blobs, which are no
 * orphans; collected, they were deleted here and buried, and the sweep deleted the good copies on
 * every holder.
 */
export async function recoverFromCrash (ctx: VaultContext, options: { orphans?: boolean, checkpoint?: boolean } = {}): Promise<{ pendingDropped: number, orphansRemoved: number }> {
  const before = ctx.catalog.countPending()
  const dropped = await settlePendingRecords(ctx)
  // A dropped record leaves its sequence number unused, which a recover would take for a record
  // held by a peer it did not see (Replay.unseen): a checkpoint now covers it. Not while a recover
  // is pending (`checkpoint: false`): that checkpoint would absorb the history still being found.
  if (dropped > 0 && options.checkpoint === true) await ctx.journal.checkpoint().catch(() => {})
  await ctx.collector.collect(ctx.catalog.dropPending())
  const orphansRemoved = options.orphans === false ? 0 : await ctx.collector.collectOrphans()
  return { pendingDropped: before, orphansRemoved }
}

/**
 * Journal records a crash left unfinished: a remove record may already be on holders, so that rm
 * is finished (it was asked for); an add record or a checkpoint part is dropped with its put.
 */
async function settlePendingRecords (ctx: VaultContext): Promise<number> {
  const { catalog, collector } = ctx
  let dropped = 0
  for (const pending of catalog.journal.pending()) {
    if (pending.kind === 'remove' && pending.fileId !== null) {
      await collector.collect(finishRemoval(ctx, pending.fileId, catalog.rowOf(pending.fileId), pending.blobId))
    } else {
      catalog.journal.drop([pending.blobId])
      await collector.collect([pending.blobId])
      dropped++
    }
  }
  return dropped
}
