// Rebuilds the catalog from the sealed blobs in storage/<own id>/ alone. A blob is a manifest of
// this owner exactly when its read key unwraps with the vault key, a journal blob when it opens with
// the journal key; everything else is a chunk. When the folder holds a journal, replaying it says
// which files exist (nothing removed comes back, nothing half-put appears), every version of every
// name included (their order is the ctime sealed in each manifest); a vault from before the journal
// has only manifests, and then every manifest is a file (the newest of each name wins, as those
// releases kept one version per name).
// This is what makes a lost catalog.db — or a whole lost disk, with `recover` — survivable.
import { MANIFEST_HEADER_BYTES, unwrapReadKey } from '../crypto/index.ts'
import { VaultError } from '../errors.ts'
import type { VaultContext } from './vault-context.ts'
import { targetFromStored, type ReplicaTarget } from '../redundancy/index.ts'
import type { Manifest } from './manifest.ts'
import { journalKey, openJournalEntry, MAX_JOURNAL_BLOB_BYTES, type JournalEntry } from './journal-seal.ts'
import { replayJournal } from './journal.ts'
import { ownTreeEntries } from './tree-put.ts'
import { openOwnManifest } from './read.ts'

export interface RebuildResult {
  files: number
  blobs: number
  /** Files the history lists whose manifest is missing or damaged. */
  skipped: number
  /** Where the list of files came from. */
  history: 'journal' | 'manifests'
  /** Small blobs that fail their hash here: any of them may be a journal record or a manifest. */
  damaged: number
  /** Records of the history known to exist (by their sequence numbers) and not found (Replay.unseen). */
  unseen: number
}

interface Scan { blobs: number, damaged: number, journal: Map<string, JournalEntry>, manifests: Set<string> }

/**
 * `headless`: what a history without its checkpoint counts. 'files' (a rebuild from this disk, or a
 * recover told to accept what is missing): every manifest no entry names, rather than lose a file
 * only that checkpoint named. 'wait' (a recover): none of them, and the history counts as unseen, so
 * the recover stays partial: the checkpoint is on a peer not seen, and guessing brought back a put
 * killed midway or a removed file whose manifest a holder kept.
 */
export async function rebuildCatalog (ctx: VaultContext, defaultTarget: ReplicaTarget, options: { headless?: 'files' | 'wait' } = {}): Promise<RebuildResult> {
  const scan = await scanFolder(ctx)
  if (scan.journal.size === 0) {
    const result: RebuildResult = { files: 0, blobs: scan.blobs, skipped: 0, history: 'manifests', damaged: scan.damaged, unseen: 0 }
    // No history at all, but manifests: in a recover, the history is on a peer not seen.
    if (options.headless === 'wait' && scan.manifests.size > 0) {
      result.unseen++
      return result
    }
    for (const id of scan.manifests) {
      if (await insertFromManifest(ctx, id, defaultTarget)) result.files++
      else result.skipped++
    }
    // Two manifests of one name (a crash between writing a new version and dropping the old one):
    // the newest wins, as it would have without the crash.
    ctx.catalog.dropShadowedNames()
    return result
  }
  const own = ctx.catalog.journal.line()
  const replay = replayJournal(scan.journal, own)
  const result: RebuildResult = { files: 0, blobs: scan.blobs, skipped: 0, history: 'journal', damaged: scan.damaged, unseen: replay.unseen }
  const { catalog } = ctx
  // A history whose first checkpoint is missing may have started from files it never named (a
  // vault from before the journal): every manifest no entry names counts then, rather than be lost.
  // Manifests no history names, and no history found but this disk's own (none absorbed by it
  // either): the history that names them is on a peer not seen. A recover that went on counted
  // them as garbage and collected them on every holder (the files of a history whose one holder was
  // away, with --replicas 2, were lost). It waits for that history instead, as for a headless one.
  const historyUnseen = options.headless === 'wait' && replay.absorbed.size === 0 &&
    ![...replay.lines.keys()].some(line => line !== own) && [...scan.manifests].some(id => !replay.mentioned.has(id))
  if (historyUnseen) result.unseen++
  const guess = !historyUnseen && replay.headless && (options.headless !== 'wait' || replay.headlessOthers === 0)
  if (guess) for (const id of scan.manifests) if (!replay.mentioned.has(id)) replay.live.add(id)
  // A file an earlier, partial recover listed whose remove record was on a peer not seen then: the
  // history found now removes it (left listed, the checkpoint of a complete recover brought it back).
  for (const id of replay.removed) {
    const row = catalog.rowOf(id)
    if (row !== undefined) catalog.deleteFile(row)
  }
  for (const id of replay.live) {
    if (catalog.rowOf(id) !== undefined) continue
    if (scan.manifests.has(id) && await insertFromManifest(ctx, id, defaultTarget)) result.files++
    else result.skipped++ // its manifest is missing or damaged: the other files must still come back
  }
  catalog.transaction(() => {
    for (const [blobId, entry] of replay.keep) {
      catalog.journal.claim({ blobId, line: entry.line, seq: entry.seq, kind: entry.kind, fileId: entry.kind === 'checkpoint' ? null : entry.file, target: defaultTarget }, 'complete')
    }
    catalog.journal.absorb([...replay.absorbed])
    // A node without a history of its own (a new disk) continues the one it found (the longest);
    // the next checkpoint absorbs any other, so it is replayed no more.
    let own = catalog.journal.line()
    if (own === undefined && replay.lines.size > 0) {
      own = [...replay.lines].sort(([la, a], [lb, b]) => b - a || (la < lb ? -1 : 1))[0][0]
      catalog.journal.setLine(own)
    }
    const seen = own === undefined ? undefined : replay.lines.get(own)
    if (seen !== undefined) catalog.journal.raiseNextSeq(seen + 1)
  })
  // Every file the history lists is a version of its name: none is dropped for a newer one.
  return result
}

/** Sorts the owner's blobs into journal entries and manifests not yet in the catalog. */
async function scanFolder (ctx: VaultContext): Promise<Scan> {
  const { store, catalog, nodeId, vaultKey } = ctx
  const key = journalKey(vaultKey)
  const scan: Scan = { blobs: 0, damaged: 0, journal: new Map(), manifests: new Set() }
  for await (const id of store.list(nodeId)) {
    scan.blobs++
    const small = await store.size(nodeId, id).then(size => size <= MAX_JOURNAL_BLOB_BYTES, () => false)
    // Small blobs are read whole (hash-checked) to look for the journal; a damaged one is not history.
    const bytes = small
      ? await store.get(nodeId, id).catch((err: unknown) => { if (err instanceof VaultError && err.code === 'CORRUPT') scan.damaged++ })
      : undefined
    const entry = bytes === undefined ? null : openJournalEntry(key, bytes)
    if (entry !== null) { scan.journal.set(id, entry); continue }
    if (catalog.isReferenced(id)) continue
    const head = bytes?.subarray(0, MANIFEST_HEADER_BYTES) ?? await store.head(nodeId, id, MANIFEST_HEADER_BYTES).catch(() => null)
    if (head !== null && unwrapReadKey(vaultKey, head) !== null) scan.manifests.add(id)
  }
  return scan
}

async function insertFromManifest (ctx: VaultContext, id: string, defaultTarget: ReplicaTarget): Promise<boolean> {
  const { store, catalog, nodeId, vaultKey } = ctx
  try {
    const manifest = openOwnManifest(vaultKey, id, await store.get(nodeId, id))
    if (manifest === null) return false
    // A folder's row claims its listing's chunks and every chunk of its files.
    const chunks = manifest.kind === 'tree' ? await treeChunks(ctx, manifest) : manifest.chunks
    catalog.insertFile({
      id,
      name: manifest.name,
      size: manifest.size,
      mtime: manifest.mtime,
      ctime: manifest.ctime,
      replicas: 1,
      target: manifest.target === undefined ? defaultTarget : targetFromStored(manifest.target),
      kind: manifest.kind ?? 'file',
      files: manifest.files ?? 1
    }, chunks)
    return true
  } catch {
    // A damaged manifest is skipped, not fatal.
    return false
  }
}

/**
 * What `recover` may keep of a blob a peer gave, before knowing the history: a journal blob or a
 * manifest of this owner (sealed under keys from the vault key: no peer can make one), with the
 * chunks a manifest names (a folder's listing chunks; its entries' chunks once the listing is here,
 * `treeChunksOf`). Anything else is a chunk, kept only if some manifest names it (null).
 */
export type OwnBlob = { kind: 'journal' } | { kind: 'manifest', chunks: string[], tree: boolean }

export function recogniseOwnBlob (ctx: VaultContext, id: string, bytes: Buffer): OwnBlob | null {
  if (openJournalEntry(journalKey(ctx.vaultKey), bytes) !== null) return { kind: 'journal' }
  let manifest: Manifest | null
  try {
    manifest = openOwnManifest(ctx.vaultKey, id, bytes)
  } catch {
    // Sealed by this owner, so kept; the rebuild skips it as damaged.
    return { kind: 'manifest', chunks: [], tree: false }
  }
  return manifest === null ? null : { kind: 'manifest', chunks: manifest.chunks.map(c => c.id), tree: manifest.kind === 'tree' }
}

/** The same for a blob already on this disk (read whole only when its header is a manifest of this owner's). */
export async function recogniseStoredBlob (ctx: VaultContext, id: string): Promise<OwnBlob | null> {
  const { store, nodeId, vaultKey } = ctx
  const head = await store.head(nodeId, id, MANIFEST_HEADER_BYTES).catch(() => null)
  if (head === null || unwrapReadKey(vaultKey, head) === null) return null
  return await store.get(nodeId, id).then(bytes => recogniseOwnBlob(ctx, id, bytes), () => null)
}

/** Every chunk a folder's manifest (on this disk, with its listing) names. */
export async function treeChunksOf (ctx: VaultContext, id: string): Promise<string[]> {
  const manifest = openOwnManifest(ctx.vaultKey, id, await ctx.store.get(ctx.nodeId, id))
  return manifest === null ? [] : (await treeChunks(ctx, manifest)).map(c => c.id)
}

async function treeChunks (ctx: VaultContext, manifest: Manifest): Promise<Array<{ id: string, size: number }>> {
  const chunks: Array<{ id: string, size: number }> = [...manifest.chunks]
  for await (const entry of ownTreeEntries(ctx, ctx.nodeId, manifest)) {
    for (const [id, , size] of entry.chunks ?? []) chunks.push({ id, size })
  }
  return chunks
}
