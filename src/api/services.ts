// What the HTTP API needs of a node, and nothing more: the vault's file operations, the node's
// state, the jobs it runs, the messenger, the event bus, a snapshot of counts for /metrics and the
// catalog's records of copies for the dashboard (read here, so no route runs SQL on catalog/'s
// tables). node/ implements it; the API never sees the node itself (api/ does not import node/).
import type { FileCopies, PeerHoldings, ShortfallRecord } from '../catalog/index.ts'
import type { EventBus } from '../events/index.ts'
import type { Vault } from '../files/index.ts'
import type { Messenger } from '../messaging/index.ts'
import type { FolderSyncs, SyncView } from '../sync/index.ts'
import type { AuditSummary, FileHealth, RecoverProgress, ScrubProgress, ScrubResult, ScrubSummary } from '../replication/index.ts'
import type { ReplicaTarget } from '../redundancy/index.ts'

/** Another node running with this identity, as a peer reported it (node/duplicate-identity.ts). */
export interface DuplicateIdentity {
  /** When a peer first told us. */
  detectedAt: string
  /** The peer that sees both of us. */
  reportedBy: string
  /** Where the other instance connects to that peer from. */
  addresses: string[]
}

export interface NodeStatus {
  nodeId: string
  addresses: string[]
  peers: PeerStatus[]
  files: number
  storage: Record<string, number>
  underReplicated: number
  /** The last scrub of this node's disk (null: none since start). */
  scrub: ScrubSummary | null
  /** This owner's audits of its holders since start. */
  audit: AuditSummary | null
  /** Restored from the recovery phrase and `recover` has not completed yet (deletions are held). */
  recoverPending: boolean
  /** Another node running with this identity, as a peer reported it; null while none is known. */
  duplicateIdentity: DuplicateIdentity | null
  /** The folder syncs of this node (sync DIR), stopped ones included. */
  sync: SyncView[]
  /** How other nodes reach this one: 'public', 'relayed' (behind NAT, through a relay),
   * 'unreachable', or 'unknown' (with the DHT, until a peer has checked by dialling back). */
  reachability: 'public' | 'relayed' | 'unreachable' | 'unknown'
}

/**
 * A peer: connected (since = when the connection opened) or known and away (since = when it left).
 * A --peer address never reached has nodeId null; away and configured peers say why the last
 * dial failed (lastError, lastErrorAt, and a likely cause in `hint`, e.g. a wrong network key).
 */
export interface PeerStatus {
  nodeId: string | null
  addresses: string[]
  latencyMs: number | null
  since: string
  connected: boolean
  /** Connected peers: 'relayed' while we reach it only through a circuit relay, else 'direct'. */
  path?: 'direct' | 'relayed'
  /** Connected peers, once identified: how others reach it ('relayed': it listens through a relay, behind NAT). */
  reachability?: 'public' | 'relayed'
  /** Connected peers: the direct path replaced a relayed one (hole punching). */
  holePunched?: boolean
  configured?: boolean
  lastError?: string
  lastErrorAt?: string
  hint?: string
}

/** Counts for /metrics, read at each scrape. */
export interface NodeMetrics {
  files: number
  underReplicated: number
  /** Bytes held in this node's own folder, and in other owners' folders together (no IDs: /metrics needs no token). */
  storedBytes: { own: number, others: number }
  messagesDropped: Record<string, number>
  refusedConnections: number
  holderFaults: Record<string, number>
  blockRefusals: Record<string, number>
  scrubBadBlobs: number
  /** Chained replication as an owner: copies made through chains, copies a broken chain left to
   * a direct send, holders' receipts that did not verify. Refused grants are in blockRefusals. */
  chainCopies: { chained: number, fallbacks: number, badReceipts: number }
}

/** What the dashboard's traffic meter reads (net/traffic.ts), each when it needs it. */
export interface TrafficSources {
  /** The open libp2p connections now. */
  connections: () => Array<{ peer: string, remoteAddr: string, direction: 'inbound' | 'outbound' }>
  /** The node's own TCP listen ports. */
  listenPorts: () => number[]
}

/**
 * What the catalog records of the vault's copies, read-only, for the dashboard's badges and peer
 * table: each read is one query for the whole vault (catalog/ owns the tables and the SQL).
 */
export interface CopyRecords {
  /** Per file row: the fewest recorded holders over its blobs, and the fewest among `online`. */
  copiesPerFile: (online: Iterable<string>) => Map<number, FileCopies>
  /** Per file row: every peer recorded as holding any of its blobs, ascending. */
  holdersPerFile: () => Map<number, string[]>
  /** Per file row: why copies are missing, as the last put or repair recorded it. */
  shortfallsPerFile: () => Map<number, ShortfallRecord[]>
  /** Per peer: what it holds for this owner (blobs, bytes). */
  holdingsPerPeer: () => Map<string, PeerHoldings>
  /** The row and copy target of each name's newest version, no name opened. */
  newestTargets: () => Array<{ row: number, target: ReplicaTarget }>
}

/**
 * `acceptMissing`: complete even without files the history lists that no peer has (recover
 * --accept-missing). `maxListed`: blob IDs one peer may list before its listing is refused.
 */
export interface RecoverRequest { acceptMissing?: boolean, maxListed?: number }

export interface NodeServices {
  readonly nodeId: string
  readonly vault: Vault
  readonly events: EventBus
  status: () => NodeStatus
  peers: () => PeerStatus[]
  metrics: () => NodeMetrics
  messenger: () => Messenger
  /** Node IDs of the peers reachable now (the routing's allPeers). */
  reachablePeers: () => string[]
  /** The open connections and the node's listen ports, for the dashboard's traffic meter. */
  readonly trafficSources: TrafficSources
  /** What the catalog records of copies and holders, for the dashboard. */
  readonly copyRecords: CopyRecords
  /** The folder syncs (sync/); undefined once the node stops. */
  syncs: () => FolderSyncs | undefined
  health: (ref: string) => Promise<FileHealth>
  recover: (onProgress?: (progress: RecoverProgress) => void, options?: RecoverRequest) => Promise<RecoverProgress & { files: number, missing: number }>
  scrub: (onProgress?: (progress: ScrubProgress) => void) => Promise<ScrubResult>
}
