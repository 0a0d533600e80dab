// One folder kept stored: a chokidar watcher on it (its .dvignore honoured), a debouncer that turns
// bursts of changes into one run, and the run: a scan against the newest version, then a new
// version of the folder's tree (files/tree-put.ts, which re-reads only changed files) if anything
// differs. A failure (the folder gone or unreadable, a file vanishing mid-store) is recorded as
// the state 'error' and retried; it never ends the node, and the last good version stays.
import { stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { Stats } from 'node:fs'
import { watch, type FSWatcher } from 'chokidar'
import type { Logger } from 'pino'
import type { SyncRecord } from '../catalog/index.ts'
import { VaultError, toVaultError } from '../errors.ts'
import { IGNORE_FILE, loadTreeIgnore, type TreePutResult, type TreeSkip, type Vault } from '../files/index.ts'
import { targetFromStored } from '../redundancy/index.ts'
import { ChangeDebouncer } from './debounce.ts'
import { treeDiffers } from './tree-diff.ts'

export type SyncState = 'watching' | 'storing' | 'error' | 'stopped'

/** A sync as `status`, `sync --list` and the API show it. */
export interface SyncView {
  name: string
  dir: string
  state: SyncState
  lastStoredAt: string | null
  /** The number (1 = oldest) of the version it stored last, while that version exists. */
  lastVersion: number | null
  lastId: string | null
  /** Changes seen in the folder and not in a stored version yet. */
  pendingChanges: number
  lastError: string | null
}

export interface SyncTiming {
  /** Store once changes have been quiet this long… */
  quietMs: number
  /** …but at most this long after the first change not stored yet. */
  maxDelayMs: number
  /** After a failure, try again this long after (sooner if the folder changes). */
  retryMs: number
}

export const DEFAULT_SYNC_TIMING: SyncTiming = { quietMs: 1_000, maxDelayMs: 10_000, retryMs: 10_000 }

export interface FolderSyncOptions {
  record: SyncRecord
  vault: Vault
  /** This catalog's sync writer ID, sealed into every version the sync stores. */
  writer: string
  timing: SyncTiming
  log: Logger
  onStored: (result: TreePutResult) => void
}

/** The number (1 = oldest) of the version the sync stored last, while that version exists. */
export function lastVersionOf (vault: Vault, record: SyncRecord): number | null {
  const index = record.lastId === null ? -1 : vault.catalog.versionsOf(record.name).findIndex(v => v.id === record.lastId)
  return index < 0 ? null : index + 1
}

/** Refuses a name whose newest version another node's sync wrote (one writer per name). */
export async function assertOnlyWriter (vault: Vault, name: string, writer: string): Promise<void> {
  const newest = vault.catalog.byName(name)
  if (newest?.kind !== 'tree') return
  const other = (await vault.open(newest.id)).manifest.syncWriter
  if (other !== undefined && other !== writer) {
    throw new VaultError('OTHER_WRITER', `the newest version of "${name}" was stored by another node's sync (this identity on another machine); two writers would overwrite each other's versions. Stop that sync, or take "${name}" over here with --takeover`)
  }
}

export class FolderSync {
  private state: SyncState = 'watching'
  private pending = 0
  private lastError: string | null = null
  private watcher: FSWatcher | undefined
  private skip: TreeSkip | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private starting: Promise<void> | undefined
  private stopped = false
  private readonly debouncer: ChangeDebouncer
  private readonly options: FolderSyncOptions

  constructor (options: FolderSyncOptions) {
    this.options = options
    this.debouncer = new ChangeDebouncer({ quietMs: options.timing.quietMs, maxDelayMs: options.timing.maxDelayMs, run: async () => await this.run() })
  }

  get name (): string { return this.options.record.name }

  /** Watches the folder, then catches up: a scan, and a version if anything differs. */
  async start (): Promise<void> {
    this.starting ??= this.watch().then(() => this.debouncer.flush(), (err: unknown) => this.failed(err))
    await this.starting
  }

  /** Idempotent: the watcher and timers closed, the current store finished. */
  async stop (): Promise<void> {
    this.stopped = true
    await this.starting
    clearTimeout(this.retryTimer)
    await this.debouncer.stop()
    await this.closeWatcher()
    this.state = 'stopped'
  }

  view (): SyncView {
    const { record, vault } = this.options
    return {
      name: record.name,
      dir: record.dir,
      state: this.state,
      lastStoredAt: record.lastStoredAt,
      lastVersion: lastVersionOf(vault, record),
      lastId: record.lastId,
      pendingChanges: this.pending,
      lastError: this.lastError
    }
  }

  private async watch (): Promise<void> {
    await this.closeWatcher()
    const root = this.options.record.dir
    const info = await stat(root).catch(() => null)
    if (info?.isDirectory() !== true) throw new VaultError('NOT_FOUND', `the node finds no folder at ${root}`)
    this.skip = await loadTreeIgnore(root)
    const watcher = watch(root, { ignoreInitial: true, followSymlinks: false, ignored: (path: string, stats?: Stats) => this.ignored(path, stats) })
    watcher.on('all', (_event, path: string) => this.changed(path))
    watcher.on('error', (err: unknown) => {
      this.options.log.warn({ err, name: this.name }, 'the folder watcher failed; rescanning')
      this.changed(undefined)
    })
    this.watcher = watcher
    await new Promise<void>((resolve, reject) => {
      watcher.once('ready', resolve)
      watcher.once('error', reject)
    })
  }

  private async closeWatcher (): Promise<void> {
    const watcher = this.watcher
    this.watcher = undefined
    await watcher?.close().catch(() => {})
  }

  private ignored (path: string, stats: Stats | undefined): boolean {
    const rel = relative(this.options.record.dir, path)
    if (rel === '' || rel.startsWith('..')) return false
    return this.skip?.(rel.split(sep).join('/'), stats?.isDirectory() === true) === true
  }

  private changed (path: string | undefined): void {
    if (this.stopped) return
    // New ignore rules: the watcher starts again with them at the next run (folders it skipped
    // may have to be watched now).
    if (path === join(this.options.record.dir, IGNORE_FILE)) void this.closeWatcher()
    this.pending++
    this.debouncer.change()
  }

  /** One debounced run: the folder against the newest version, and a new version if they differ. */
  private async run (): Promise<void> {
    if (this.stopped) return
    clearTimeout(this.retryTimer)
    const { record, vault, writer } = this.options
    const taken = this.pending
    this.pending = 0
    try {
      if (this.watcher === undefined) await this.watch()
      if (!record.takeover) await assertOnlyWriter(vault, record.name, writer)
      if (!record.takeover && !await treeDiffers(vault, record.name, record.dir, this.skip)) {
        this.state = 'watching'
        this.lastError = null
        return
      }
      this.state = 'storing'
      const replicas = record.replicas === null ? undefined : targetFromStored(record.replicas)
      const result = await vault.putTree(record.dir, { name: record.name, replicas, syncWriter: writer })
      const at = new Date().toISOString()
      vault.catalog.syncs.stored(record.name, result.id, at)
      Object.assign(record, { lastStoredAt: at, lastId: result.id, takeover: false })
      this.state = 'watching'
      this.lastError = null
      this.options.log.info({ name: record.name, id: result.id, files: result.files, reused: result.reused, changes: taken }, 'folder sync stored a version')
      this.options.onStored(result)
    } catch (err) {
      this.pending += taken
      this.failed(err)
    }
  }

  private failed (err: unknown): void {
    if (this.stopped) return
    const error = toVaultError(err)
    const message = `${error.message} (${error.code})`
    if (message !== this.lastError) this.options.log.warn({ name: this.name, code: error.code, err: error.message }, 'folder sync failed; the last stored version stays')
    this.state = 'error'
    this.lastError = message
    // The watcher may be watching a folder that is gone: a new one is made at the next run.
    void this.closeWatcher()
    // Another writer does not go away by itself: the sync waits for --stop or --takeover.
    if (error.code === 'OTHER_WRITER') return
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => this.debouncer.flush(), this.options.timing.retryMs)
    this.retryTimer.unref()
  }
}
