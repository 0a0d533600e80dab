// The Vault: the file operations of one owner (put, get, ls, rm, share, rebuild) over its store
// and catalog. It knows nothing of the network; replication plugs in through `remote` and hooks.
import { Readable } from 'node:stream'
import type { Catalog, FileRecord } from '../catalog/index.ts'
import type { BlobStore } from '../store/index.ts'
import { AuthenticationFailed, formatCapability, isCapability, parseCapability, unwrapReadKey, MANIFEST_HEADER_BYTES } from '../crypto/index.ts'
import { VaultError } from '../errors.ts'
import type { RemoteBlobs } from './chunk-source.ts'
import { widestTarget, type BlobReplication, type ReplicaTarget, type VaultContext } from './context.ts'
import type { Manifest } from './manifest.ts'
import { putFile, type PutOptions, type PutResult } from './put.ts'
import { loadOwnManifest, loadSharedManifest, readFileBytes, writeFileAt, type ByteRange } from './read.ts'
import { rebuildCatalog, type RebuildResult } from './rebuild.ts'
import { Journal } from './journal.ts'
import { pickVersion, type VersionPick } from './versions.ts'
import { pruneVersions, type PruneOptions, type PruneResult } from './prune.ts'
import { ownTreeEntries, putTree, type TreePutOptions, type TreePutResult } from './tree-put.ts'
import { restoreTree, type TreeRestoreResult } from './tree-restore.ts'
import type { TreeEntry } from './tree-listing.ts'

export interface VaultOptions {
  nodeId: string
  vaultKey: Buffer
  store: BlobStore
  catalog: Catalog
  remote?: RemoteBlobs
  /** Copies wanted in all when a put does not say. */
  defaultReplicas?: ReplicaTarget
  replication?: BlobReplication
}

/** A file ready to be read: who owns it, its manifest, and where it came from. */
export interface OpenFile { id: string, owner: string, name: string, size: number, mtime: string, manifest: Manifest }

export class Vault implements VaultContext {
  readonly nodeId: string
  readonly vaultKey: Buffer
  readonly store: BlobStore
  readonly catalog: Catalog
  remote?: RemoteBlobs
  defaultReplicas: ReplicaTarget
  replication?: BlobReplication
  readonly journal: Journal

  constructor (options: VaultOptions) {
    this.nodeId = options.nodeId
    this.vaultKey = options.vaultKey
    this.store = options.store
    this.catalog = options.catalog
    this.remote = options.remote
    this.defaultReplicas = options.defaultReplicas ?? 1
    this.replication = options.replication
    this.journal = new Journal(this)
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

  async put (source: AsyncIterable<Uint8Array> | Readable, options: PutOptions): Promise<PutResult> {
    return await putFile(this, source, { ...options, replicas: options.replicas ?? this.defaultReplicas })
  }

  /** Stores the folder `root` on this machine as one entry (files/tree-put.ts). */
  async putTree (root: string, options: TreePutOptions): Promise<TreePutResult> {
    return await putTree(this, root, { ...options, replicas: options.replicas ?? this.defaultReplicas })
  }

  /** Writes a folder (an open tree) at `target` on this machine, atomically. */
  async restoreTree (file: OpenFile, target: string, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<TreeRestoreResult> {
    if (file.manifest.kind !== 'tree') throw new VaultError('BAD_INPUT', `"${file.name}" is a file, not a folder`)
    return await restoreTree(this, file.owner, file.manifest, target, signal, onProgress)
  }

  /** The entries of a folder (an open tree), in listing order. */
  treeEntries (file: OpenFile, signal?: AbortSignal): AsyncGenerator<TreeEntry> {
    if (file.manifest.kind !== 'tree') throw new VaultError('BAD_INPUT', `"${file.name}" is a file, not a folder`)
    return ownTreeEntries(this, file.owner, file.manifest, signal)
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
      const manifest = await loadSharedManifest(this, cap.ownerId, cap.fileId, cap.readKey).catch((err: unknown) => {
        // The blob is there and intact (its hash matched) but the key does not open it: a bad capability.
        if (err instanceof AuthenticationFailed) {
          throw new VaultError('BAD_INPUT', 'the capability\'s key does not open this file (was the capability altered?)')
        }
        throw err
      })
      return { id: cap.fileId, owner: cap.ownerId, name: manifest.name, size: manifest.size, mtime: manifest.mtime, manifest }
    }
    const record = this.resolve(ref, pick)
    const manifest = await loadOwnManifest(this, record.id)
    return { id: record.id, owner: this.nodeId, name: record.name, size: record.size, mtime: record.mtime, manifest }
  }

  read (file: OpenFile, range?: ByteRange, signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (file.manifest.kind === 'tree') throw folderAsBytes(file.name)
    return readFileBytes(this, file.owner, file.manifest, range, signal)
  }

  /** Writes the whole file into the open file `fd`, chunks in parallel at their offsets; resolves with its size. */
  async writeTo (file: OpenFile, fd: number, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<number> {
    if (file.manifest.kind === 'tree') throw folderAsBytes(file.name)
    return await writeFileAt(this, file.owner, file.manifest, fd, signal, onProgress)
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
    return { ...(versions.at(-1) ?? record), removedVersions: versions.length }
  }

  /** Drops old versions by a retention policy (prune.ts). */
  async prune (options: PruneOptions): Promise<PruneResult> {
    return await pruneVersions(this, options)
  }

  async share (ref: string): Promise<string> {
    const record = this.resolve(ref)
    const head = (await this.store.get(this.nodeId, record.id)).subarray(0, MANIFEST_HEADER_BYTES)
    const readKey = unwrapReadKey(this.vaultKey, head)
    if (readKey === null) throw new VaultError('CORRUPT', `the manifest of "${record.name}" cannot be opened`)
    return formatCapability({ fileId: record.id, ownerId: this.nodeId, readKey: readKey.toString('hex') })
  }

  /** Removes a file: its remove record is durable (and copied) before any of its blobs is deleted. */
  async removeRecord (record: FileRecord): Promise<void> {
    const target = widestTarget(record.target === 0 ? 'all' : record.target, this.defaultReplicas)
    const removal = await this.journal.append('remove', record.id, target)
    await this.collect(this.finishRemoval(record.id, record.row, removal))
    await this.journal.maybeCheckpoint()
  }

  /** The removal's commit: the file row goes and its remove record becomes part of the history. */
  private finishRemoval (fileId: string, row: number | undefined, removal: string): string[] {
    return this.catalog.durably(() => this.catalog.transaction(() => {
      this.catalog.journal.complete([removal])
      return row === undefined ? [] : [...this.catalog.deleteFile(row), fileId]
    }))
  }

  async collect (blobIds: string[]): Promise<void> {
    const deleted: string[] = []
    for (const id of blobIds) {
      if (await this.store.delete(this.nodeId, id, () => this.catalog.isReferenced(id))) deleted.push(id)
      else if (!this.catalog.isReferenced(id)) deleted.push(id) // gone locally already; holders may still have it
    }
    if (deleted.length === 0) return
    // Remembered, so the holder sweep can drop copies no deletion message ever reached.
    this.catalog.journal.bury(deleted)
    if (this.replication !== undefined) {
      await this.replication.removed(deleted)
    } else {
      // No network yet (crash clean-up at start): holders we know of hear it when they reconnect.
      for (const [peer, ids] of this.catalog.holders.drop(deleted)) this.catalog.holders.queueDeletes(peer, ids)
    }
  }

  async rebuild (): Promise<RebuildResult> {
    return await rebuildCatalog(this, this.defaultReplicas === 'all' ? 0 : this.defaultReplicas)
  }

  /**
   * After a crash: drops puts that never finished and every blob of this owner that no file uses
   * (chunks of a killed put, a manifest written just before the crash). Run before serving.
   */
  async recoverFromCrash (): Promise<{ pendingDropped: number, orphansRemoved: number }> {
    const before = this.catalog.countPending()
    await this.settlePendingRecords()
    await this.collect(this.catalog.dropPending())
    const orphansRemoved = await this.collectOrphans()
    return { pendingDropped: before, orphansRemoved }
  }

  /**
   * Journal records a crash left unfinished: a remove record may already be on holders, so that rm
   * is finished (it was asked for); an add record or a checkpoint part is dropped with its put.
   */
  private async settlePendingRecords (): Promise<void> {
    for (const pending of this.catalog.journal.pending()) {
      if (pending.kind === 'remove' && pending.fileId !== null) {
        await this.collect(this.finishRemoval(pending.fileId, this.catalog.rowOf(pending.fileId), pending.blobId))
      } else {
        this.catalog.journal.drop([pending.blobId])
        await this.collect([pending.blobId])
      }
    }
  }

  /** Deletes every blob of this owner's folder that nothing (file, put in progress, journal) uses. */
  async collectOrphans (): Promise<number> {
    const orphans: string[] = []
    for await (const id of this.store.list(this.nodeId)) {
      if (!this.catalog.isReferenced(id)) orphans.push(id)
    }
    // Through collect(), so the holders that got copies of them are told too.
    await this.collect(orphans)
    return orphans.length
  }
}

function folderAsBytes (name: string): VaultError {
  return new VaultError('BAD_INPUT', `"${name}" is a folder: restore it with "get ${name} -o DIR" (the node writes it on its own machine), list it with "ls ${name}"`)
}
