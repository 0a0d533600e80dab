// The Vault: the file operations of one owner (put, get, ls, rm, share, rebuild) over its store
// and catalog. It knows nothing of the network: it is built with a Redundancy and a RemoteBlobs
// (the network's, or none), and hands each operation its context rather than itself.
import { Readable } from 'node:stream'
import type { Catalog, FileRecord } from '../catalog/index.ts'
import type { BlobStore } from '../store/index.ts'
import { AuthenticationFailed, formatCapability, isCapability, parseCapability, unwrapReadKey, MANIFEST_HEADER_BYTES } from '../crypto/index.ts'
import { VaultError } from '../errors.ts'
import type { RemoteBlobs } from './chunk-source.ts'
import { LocalRedundancy, type OwnerContext, type Redundancy } from './context.ts'
import type { VaultContext } from './vault-context.ts'
import type { ReplicaTarget } from '../redundancy/index.ts'
import { BlobCollector } from './blobs.ts'
import type { EventBus } from '../events/index.ts'
import { OpenedShares } from './opened-shares.ts'
import { recoverFromCrash, removeFileRecord } from './remove.ts'
import type { Manifest } from './manifest.ts'
import { putFile, type PutOptions, type PutResult } from './put.ts'
import { loadOwnManifest, loadSharedManifest, readFileBytes, writeFileAt, type ByteRange } from './read.ts'
import { rebuildCatalog, recogniseOwnBlob, recogniseStoredBlob, treeChunksOf, type OwnBlob, type RebuildResult } from './rebuild.ts'
import { Journal } from './journal.ts'
import { pickVersion, type VersionPick } from './versions.ts'
import { pruneVersions, type PruneOptions, type PruneResult } from './prune.ts'
import { ownTreeEntries, putTree, type TreePutOptions, type TreePutResult } from './tree-put.ts'
import { restoreTree, type TreeRestoreResult } from './tree-restore.ts'
import { entryChunks, type TreeEntry } from './tree-listing.ts'

export interface VaultOptions {
  nodeId: string
  vaultKey: Buffer
  store: BlobStore
  catalog: Catalog
  /** Where missing or damaged blobs come from (the network); none: this disk alone. */
  remote?: RemoteBlobs
  /** Copies wanted in all when a put does not say. */
  defaultReplicas?: ReplicaTarget
  /** How copies are made and dropped on peers; by default none are (LocalRedundancy). */
  redundancy?: Redundancy
  /** Where files stored and removed are published. */
  events?: EventBus
  /**
   * While true, the journal writes no checkpoint of its own (after many records): a disk restored
   * from the phrase whose `recover` has not completed. Such a checkpoint would list only the files
   * found so far and cover the records of the others, hiding them from the recover that finds them.
   */
  holdCheckpoints?: () => boolean
}

/** A file ready to be read: who owns it, its manifest, and where it came from. */
export interface OpenFile { id: string, owner: string, name: string, size: number, mtime: string, manifest: Manifest }

export class Vault {
  readonly nodeId: string
  readonly vaultKey: Buffer
  readonly store: BlobStore
  readonly catalog: Catalog
  readonly defaultReplicas: ReplicaTarget
  readonly journal: Journal
  /** What every operation of this vault is handed (never the Vault itself: no call comes back). */
  private readonly ctx: VaultContext
  private readonly events: EventBus | undefined
  private readonly openedShares = new OpenedShares()

  constructor (options: VaultOptions) {
    this.nodeId = options.nodeId
    this.vaultKey = options.vaultKey
    this.store = options.store
    this.catalog = options.catalog
    this.defaultReplicas = options.defaultReplicas ?? 1
    this.events = options.events
    const owner: OwnerContext = {
      nodeId: options.nodeId,
      vaultKey: options.vaultKey,
      store: options.store,
      catalog: options.catalog,
      remote: options.remote,
      redundancy: options.redundancy ?? new LocalRedundancy(options.catalog),
      defaultReplicas: this.defaultReplicas
    }
    const collector = new BlobCollector(owner)
    this.journal = new Journal(owner, collector, options.holdCheckpoints)
    this.ctx = { ...owner, collector, journal: this.journal }
  }

  /** A fetched blob of this owner's folder, if it is its history or a manifest (recover keeps those first). */
  recognise (id: string, bytes: Buffer): OwnBlob | null {
    return recogniseOwnBlob(this.ctx, id, bytes)
  }

  /** The same for a blob on this disk: a manifest, with the chunks it names, else null. */
  async recogniseStored (id: string): Promise<OwnBlob | null> {
    return await recogniseStoredBlob(this.ctx, id)
  }

  /** Every chunk of the folder manifest `id`, its listing read from this disk. */
  async treeChunksOf (id: string): Promise<string[]> {
    return await treeChunksOf(this.ctx, id)
  }

  /**
   * Run at start: a catalog without a history yet (a new vault, or one made before the journal)
   * gets its first checkpoint (of its files, if any), so from then on the journal alone says which
   * files exist (rebuild and recover replay it). Resolves true when it wrote one.
   */
  async startJournal (): Promise<boolean> {
    if (this.catalog.journal.line() !== undefined) return false
    await this.journal.ensureLine()
    return true
  }

  /** A file's result says `kind` and `files` too, as a folder's does (`put --json`: one shape for both). */
  async put (source: AsyncIterable<Uint8Array> | Readable, options: PutOptions): Promise<PutResult & { kind: 'file', files: 1 }> {
    const result = await putFile(this.ctx, source, { ...options, replicas: options.replicas ?? this.defaultReplicas })
    this.stored(result, 'file')
    return { ...result, kind: 'file', files: 1 }
  }

  /** Stores the folder `root` on this machine as one entry (files/tree-put.ts). */
  async putTree (root: string, options: TreePutOptions): Promise<TreePutResult> {
    const result = await putTree(this.ctx, root, { ...options, replicas: options.replicas ?? this.defaultReplicas })
    this.stored(result, 'tree')
    return result
  }

  private stored (result: PutResult, kind: 'file' | 'tree'): void {
    if (this.events === undefined) return
    this.events.emit('file:stored', { id: result.id, name: result.name, size: result.size, kind, version: this.catalog.versionsOf(result.name).length })
  }

  /** Writes a folder (an open tree) at `target` on this machine, atomically. */
  async restoreTree (file: OpenFile, target: string, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<TreeRestoreResult> {
    if (file.manifest.kind !== 'tree') throw new VaultError('BAD_INPUT', `"${file.name}" is a file, not a folder`)
    return await restoreTree(this.ctx, file.owner, file.manifest, target, signal, onProgress)
  }

  /** The entries of a folder (an open tree), in listing order. */
  treeEntries (file: OpenFile, signal?: AbortSignal): AsyncGenerator<TreeEntry> {
    if (file.manifest.kind !== 'tree') throw new VaultError('BAD_INPUT', `"${file.name}" is a file, not a folder`)
    return ownTreeEntries(this.ctx, file.owner, file.manifest, signal)
  }

  /** The bytes of one file of a folder (an entry `treeEntries` gave), streamed. */
  readTreeFile (file: OpenFile, entry: TreeEntry, signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (entry.type !== 'file') throw new VaultError('BAD_INPUT', `"${entry.path}" is not a file`)
    return readFileBytes(this.ctx, file.owner, { ...file.manifest, kind: 'file', size: entry.size, chunks: entryChunks(entry) }, undefined, signal)
  }

  list (): FileRecord[] {
    return this.catalog.list()
  }

  /**
   * A name (its newest version), a file ID or an unambiguous ID prefix (≥ 8 hex digits) of this
   * owner's files (that very version). With `pick`, a version of the name (of the ID's name).
   */
  resolve (ref: string, pick?: VersionPick): FileRecord {
    const record = this.catalog.byName(ref) ?? this.resolveId(ref)
    if (pick === undefined || (pick.version === undefined && pick.at === undefined)) return record
    return pickVersion(record.name, this.catalog.versionsOf(record.name), pick)
  }

  private resolveId (ref: string): FileRecord {
    const byId = this.catalog.byId(ref.toLowerCase())
    if (byId.length > 1) throw new VaultError('BAD_INPUT', `"${ref}" matches more than one file ID; give more digits`)
    if (byId.length === 1) return byId[0]
    throw new VaultError('NOT_FOUND', `no file named or with ID "${ref}"`)
  }

  /** Every version of the name `ref` names (or of the file ID's name), oldest first. */
  versions (ref: string): FileRecord[] {
    return this.catalog.versionsOf(this.resolve(ref).name)
  }

  /** Opens a file by name, ID or capability string (with `pick`, an older version of an own file). */
  async open (ref: string, pick?: VersionPick): Promise<OpenFile> {
    // An own file's name wins over the capability syntax: "dv1.notes.txt" is a legal file name.
    if (isCapability(ref) && this.catalog.byName(ref) === undefined) {
      if (pick?.version !== undefined || pick?.at !== undefined) throw new VaultError('BAD_INPUT', 'a capability names one version of a file: --version and --at do not apply to it')
      const cap = parseCapability(ref)
      const key = `${cap.ownerId}/${cap.fileId}/${cap.readKey}`
      const opened = this.openedShares.get(key)
      if (opened !== undefined) return opened
      const manifest = await loadSharedManifest(this.ctx, cap.ownerId, cap.fileId, cap.readKey).catch((err: unknown) => {
        // The blob is there and intact (its hash matched) but the key does not open it: a bad capability.
        if (err instanceof AuthenticationFailed) {
          throw new VaultError('BAD_INPUT', 'the capability\'s key does not open this file (was the capability altered?)')
        }
        throw err
      })
      const file = { id: cap.fileId, owner: cap.ownerId, name: manifest.name, size: manifest.size, mtime: manifest.mtime, manifest }
      // Another owner's file, fetched from its holders: kept for the read that follows (info, then get).
      if (cap.ownerId !== this.nodeId) this.openedShares.set(key, file)
      return file
    }
    const record = this.resolve(ref, pick)
    const manifest = await loadOwnManifest(this.ctx, record.id)
    return { id: record.id, owner: this.nodeId, name: record.name, size: record.size, mtime: record.mtime, manifest }
  }

  read (file: OpenFile, range?: ByteRange, signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (file.manifest.kind === 'tree') throw folderAsBytes(file.name)
    return readFileBytes(this.ctx, file.owner, file.manifest, range, signal)
  }

  /** Writes the whole file into the open file `fd`, chunks in parallel at their offsets; resolves with its size. */
  async writeTo (file: OpenFile, fd: number, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<number> {
    if (file.manifest.kind === 'tree') throw folderAsBytes(file.name)
    return await writeFileAt(this.ctx, file.owner, file.manifest, fd, signal, onProgress)
  }

  /**
   * `rm`: a file ID (or prefix) removes that one version; a name removes the name, which with more
   * than one version needs `allVersions` (otherwise HAS_VERSIONS, and nothing is removed). Versions
   * go oldest first, so a failure midway leaves the newest. Resolves with the newest one removed.
   */
  async remove (ref: string, options: { allVersions?: boolean } = {}): Promise<FileRecord & { removedVersions: number }> {
    const byName = this.catalog.byName(ref)
    const record = byName ?? this.resolveId(ref)
    const versions = byName !== undefined || options.allVersions === true ? this.catalog.versionsOf(record.name) : [record]
    if (versions.length > 1 && options.allVersions !== true) {
      throw new VaultError('HAS_VERSIONS', `"${record.name}" has ${versions.length} versions; nothing was removed. Remove them all with --all-versions, or one by its ID (see "distri-vault versions ${record.name}")`)
    }
    for (const version of versions) await this.removeRecord(version)
    const removed = versions.at(-1) ?? record
    // One event per rm, as one rm is one thing the user did (announced once, with the newest's size).
    this.events?.emit('file:removed', { id: removed.id, name: removed.name, size: removed.size })
    return { ...removed, removedVersions: versions.length }
  }

  /** Drops old versions by a retention policy (prune.ts). */
  async prune (options: PruneOptions): Promise<PruneResult> {
    const result = await pruneVersions(this.ctx, options)
    if (!result.dryRun) for (const v of result.droppedVersions) this.events?.emit('file:removed', { id: v.id, name: v.name, size: v.size })
    return result
  }

  async share (ref: string): Promise<string> {
    const record = this.resolve(ref)
    const head = (await this.store.get(this.nodeId, record.id)).subarray(0, MANIFEST_HEADER_BYTES)
    const readKey = unwrapReadKey(this.vaultKey, head)
    if (readKey === null) throw new VaultError('CORRUPT', `the manifest of "${record.name}" cannot be opened`)
    return formatCapability({ fileId: record.id, ownerId: this.nodeId, readKey: readKey.toString('hex') })
  }

  /** Removes one file version (remove.ts). */
  async removeRecord (record: FileRecord): Promise<void> {
    await removeFileRecord(this.ctx, record)
  }

  /** Deletes these of the owner's blobs unless a file (or a put in progress) uses them again. */
  async collect (blobIds: string[]): Promise<void> {
    await this.ctx.collector.collect(blobIds)
  }

  async rebuild (options: { headless?: 'files' | 'wait' } = {}): Promise<RebuildResult> {
    return await rebuildCatalog(this.ctx, this.defaultReplicas, options)
  }

  /** After a crash: drops unfinished puts and (unless `orphans: false`) orphaned blobs (remove.ts). Run before serving. */
  async recoverFromCrash (options: { orphans?: boolean, checkpoint?: boolean } = {}): Promise<{ pendingDropped: number, orphansRemoved: number }> {
    return await recoverFromCrash(this.ctx, options)
  }

  /** Deletes every blob of this owner's folder that nothing (file, put in progress, journal) uses. */
  async collectOrphans (): Promise<number> {
    return await this.ctx.collector.collectOrphans()
  }
}

function folderAsBytes (name: string): VaultError {
  return new VaultError('BAD_INPUT', `"${name}" is a folder: restore it with "get ${name} -o DIR" (the node writes it on its own machine), list it with "ls ${name}"`)
}
