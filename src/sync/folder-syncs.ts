// Every folder sync of a node: registered in the catalog (so each resumes, and catches up, after a
// restart), one running FolderSync per active name, and the rules of one writer per name: a name
// is synced from one folder at a time here, and not where another node's sync wrote its newest
// version (unless taken over).
import { isAbsolute } from 'node:path'
import { stat } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { SyncRecord } from '../catalog/index.ts'
import { VaultError } from '../errors.ts'
import { checkFileName, checkTree, type ReplicaTarget, type TreePutResult, type Vault } from '../files/index.ts'
import { storedTarget } from '../redundancy/index.ts'
import { DEFAULT_SYNC_TIMING, FolderSync, assertOnlyWriter, lastVersionOf, type SyncTiming, type SyncView } from './folder-sync.ts'

export interface FolderSyncsOptions {
  vault: Vault
  log: Logger
  timing?: Partial<SyncTiming>
  /** A sync stored a version (the node announces it). */
  onStored?: (result: TreePutResult) => void
}

export interface SyncRequest {
  /** Absolute, on the node's machine. */
  dir: string
  name: string
  replicas?: ReplicaTarget
  /** Sync the name even if its newest version was stored by another node's sync. */
  takeover?: boolean
}

export class FolderSyncs {
  private readonly running = new Map<string, FolderSync>()
  /** Names being added right now: a second add of one of them is refused, not raced. */
  private readonly adding = new Set<string>()
  private readonly options: FolderSyncsOptions
  private readonly timing: SyncTiming
  private stopped = false

  constructor (options: FolderSyncsOptions) {
    this.options = options
    this.timing = { ...DEFAULT_SYNC_TIMING, ...options.timing }
  }

  /** Resumes every active sync; each catches up in the background (the node does not wait). */
  start (): void {
    for (const record of this.options.vault.catalog.syncs.list()) {
      if (record.active) void this.launch(record).start()
    }
  }

  async add (request: SyncRequest): Promise<SyncView> {
    const name = checkFileName(request.name)
    if (!isAbsolute(request.dir)) throw new VaultError('BAD_INPUT', `the folder must be an absolute path on the node's machine: ${request.dir}`)
    if (this.stopped) throw new VaultError('NOT_RUNNING', 'the node is stopping')
    const current = this.running.get(name)
    if (current !== undefined || this.adding.has(name)) {
      const from = current === undefined ? '' : ` from ${current.view().dir}`
      throw new VaultError('ALREADY_SYNCED', `"${name}" is already synced${from}; one folder per name: stop that sync first ("distri-vault sync --stop ${name}") or choose another --name`)
    }
    this.adding.add(name)
    try {
      const info = await stat(request.dir).catch(() => null)
      if (info?.isDirectory() !== true) throw new VaultError('NOT_FOUND', `the node finds no folder at ${request.dir}`)
      const { vault } = this.options
      const writer = vault.catalog.syncs.writerId()
      if (request.takeover !== true) await assertOnlyWriter(vault, name, writer)
      const check = await checkTree(request.dir)
      if (check.problems.length > 0) throw new VaultError('BAD_INPUT', `the folder ${request.dir} cannot be synced as it is:\n${check.problems.join('\n')}`)
      const record: SyncRecord = {
        name,
        dir: request.dir,
        replicas: request.replicas === undefined ? null : storedTarget(request.replicas),
        active: true,
        takeover: request.takeover === true,
        createdAt: new Date().toISOString(),
        lastStoredAt: null,
        lastId: null
      }
      vault.catalog.syncs.save(record)
      const sync = this.launch(record)
      await sync.start()
      return sync.view()
    } finally {
      this.adding.delete(name)
    }
  }

  /** `sync --stop NAME`: no more versions; the registration stays, listed as stopped. */
  async remove (name: string): Promise<SyncView> {
    const sync = this.running.get(name)
    const record = this.options.vault.catalog.syncs.get(name)
    if (record === undefined) throw new VaultError('NOT_FOUND', `no folder is synced as "${name}" (see "distri-vault sync --list")`)
    if (sync !== undefined) {
      this.running.delete(name)
      this.options.vault.catalog.syncs.setActive(name, false)
      await sync.stop()
      return sync.view()
    }
    return this.stoppedView(record)
  }

  list (): SyncView[] {
    return this.options.vault.catalog.syncs.list().map(record => this.running.get(record.name)?.view() ?? this.stoppedView(record))
  }

  /** Idempotent: every sync stopped (each finishes the version it is storing). */
  async stop (): Promise<void> {
    this.stopped = true
    const syncs = [...this.running.values()]
    this.running.clear()
    await Promise.all(syncs.map(async (s) => await s.stop()))
  }

  private launch (record: SyncRecord): FolderSync {
    const sync = new FolderSync({
      record,
      vault: this.options.vault,
      writer: this.options.vault.catalog.syncs.writerId(),
      timing: this.timing,
      log: this.options.log,
      onStored: (result) => this.options.onStored?.(result)
    })
    this.running.set(record.name, sync)
    return sync
  }

  private stoppedView (record: SyncRecord): SyncView {
    return { name: record.name, dir: record.dir, state: 'stopped', lastStoredAt: record.lastStoredAt, lastVersion: lastVersionOf(this.options.vault, record), lastId: record.lastId, pendingChanges: 0, lastError: null }
  }
}
