// The node's one event bus: the vault and the network publish what happened (files stored and
// removed, peers joining and leaving, messages and announcements received, progress of recover,
// repair and scrub); announcements to the network, the API's live events (SSE) and the dashboard
// subscribe. Synchronous and in-process, like syncthing's lib/events: a listener must not block,
// and one that throws is logged and skipped, never breaking the publisher.
import type { Logger } from 'pino'

/** A file (or folder) of this owner was stored; `version` > 1: a new version of an existing name. */
export interface FileStoredEvent { id: string, name: string, size: number, kind: 'file' | 'tree', version: number }
/** A file version of this owner was removed (rm, prune). */
export interface FileRemovedEvent { id: string, name: string, size: number }
export interface PeerEvent { nodeId: string, at: string }
/** A verified message received (direct or to all), once. */
export interface MessageEvent { id: string, from: string, to: string, text: string, at: string }
/** A verified announcement flooded by another node. */
export interface AnnouncementEvent { id: string, from: string, kind: string, data: Record<string, unknown>, at: string }
/** Who started a job: a user's request (CLI, API, page), the node's own timer, a peer (it connected, or reported lost copies). */
export type JobTrigger = 'request' | 'timer' | 'peer'
/**
 * Start, progress and end of a job the node runs, whoever started it: `progress.phase` is the job's
 * own ('started', 'checking', 'repairing', …), ending with 'done' (or 'failed', with `error`).
 */
export interface ProgressEvent { job: 'recover' | 'scrub' | 'repair' | 'audit', progress: Record<string, unknown>, trigger?: JobTrigger }

export interface VaultEvents {
  'file:stored': FileStoredEvent
  'file:removed': FileRemovedEvent
  'peer:joined': PeerEvent
  'peer:left': PeerEvent
  'message:received': MessageEvent
  'announcement:received': AnnouncementEvent
  'job:progress': ProgressEvent
}

export type VaultEventName = keyof VaultEvents
type Listener<K extends VaultEventName> = (event: VaultEvents[K]) => void

export class EventBus {
  private readonly listeners = new Map<VaultEventName, Set<(event: never) => void>>()
  private readonly log: Logger | undefined

  constructor (log?: Logger) {
    this.log = log
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends VaultEventName> (name: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(name)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(name, set)
    }
    set.add(listener as (event: never) => void)
    return () => { set.delete(listener as (event: never) => void) }
  }

  emit<K extends VaultEventName> (name: K, event: VaultEvents[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        (listener as Listener<K>)(event)
      } catch (err) {
        this.log?.error({ err: (err as Error).message, event: name }, 'an event listener failed')
      }
    }
  }

  /** Listeners of `name` now (for tests and leak checks). */
  listenerCount (name: VaultEventName): number {
    return this.listeners.get(name)?.size ?? 0
  }
}
