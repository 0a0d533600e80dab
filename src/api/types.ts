// The shapes the HTTP API answers with, in one place: the CLI imports them as types (nothing of the
// API loads in the CLI process), so a change to an answer shows up as a type error in its reader.

/** Every error answer: the status is the code's (docs/ERRORS.md). */
export interface ErrorBody { error: { code: string, message: string } }

/** A progress line of the NDJSON jobs (import, export): bytes done so far. */
export interface ProgressLine { progress: number }

/** A file or folder as GET /api/files lists it (and DELETE answers, with removedVersions). */
export interface FileView { id: string, name: string, size: number, mtime: string, replicas: number, versions?: number, kind?: 'file' | 'tree', files?: number }

/** One entry of a folder, GET /api/files/:ref/tree. */
export interface EntryView { path: string, type: 'file' | 'dir' | 'symlink', size: number, mtime: string, mode: number, target?: string }

/** GET /api/files/:ref/health: where each blob of a file is, and whether holders confirmed it. */
export interface HealthView {
  id: string
  name: string
  target: number | 'all'
  replicas: number
  ok: boolean
  blobs: Array<{ id: string, kind: string, size: number | null, local: boolean, copies: number, holders: Array<{ nodeId: string, online: boolean, confirmed: boolean | null }> }>
}

/** A kept message, GET /api/messages and the SSE stream. */
export interface MessageView { id: string, from: string, to: string, text: string, at: string }

/** POST /api/messages: a direct message (delivered) or a message to all (deliveredTo). */
export interface SendResultView { id: string, to: string, at: string, delivered?: boolean, deliveredTo?: number }

/** POST /api/files and the result line of /api/files/import. */
/** Why an under-replicated put is short: holders' refusals by code, and NO_PEERS. */
export interface ShortfallView { reasons?: Record<string, number> }

export interface PutResultView { id: string, name: string, size: number, replicas: number, target: number | 'all', underReplicated?: boolean, shortfall?: ShortfallView, kind?: 'file' | 'tree', files?: number }

/** The NDJSON lines of POST /api/recover: progress by phase, the summary last with phase 'done'. */
/** `missing` (in the summary): files the history lists whose manifest no peer online had; `unseen`:
 * records of the history known by their numbers that no peer online had; `denied`: blobs every
 * peer that listed them then said it lacks or served wrong (not held, not a failure); `refused`:
 * peers that listed more blobs than a peer may (the rest of their listing is ignored, the recover
 * stays partial); `unreferenced`: blobs peers listed and gave that are neither this owner's history
 * nor named by its manifests (not kept). */
export interface RecoverLine { phase: string, peers: number, found: number, fetched: number, bytes: number, failed: number, denied?: number, refused?: number, unreferenced?: number, files?: number, missing?: number, unseen?: number }

/** The NDJSON lines of POST /api/scrub: phase 'checking' while it runs, the summary last with phase 'done'. */
export interface ScrubLine { phase: string, checked: number, bytes: number, bad: number, repaired?: number, reported?: number, failed?: number }

/** One version of a name, GET /api/files/:ref/versions. */
export interface VersionView { version: number, id: string, size: number, mtime: string, ctime: string, replicas: number }

/** POST /api/prune: what was kept and dropped. */
export interface PruneView { kept: number, dropped: number, bytesFreed: number, dryRun: boolean, droppedVersions: Array<{ name: string, version: number, id: string, size: number, ctime: string }> }
