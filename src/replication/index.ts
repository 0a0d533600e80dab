// replication/: where copies of an owner's sealed blobs live on other nodes. Placement by
// rendezvous hashing, the /distri-vault/block/1 protocol (holder and client), and the Replicator.
export { placeReplicas, placementWeight } from './placement.ts'
export { BlockServer, DEFAULT_INBOUND_BUDGET, type BlockServerOptions } from './block-server.ts'
export { BlockClient, type BlockClientOptions } from './block-client.ts'
export { Replicator, type ReplicatorOptions, type ReplicateOptions, type ReplicateResult, type RemoveResult } from './replicator.ts'
export { BLOCK_PROTOCOL, MAX_BLOB_BYTES, MAX_IDS_PER_REQUEST } from './block-protocol.ts'
export { OwnerReplication, type OwnerReplicationOptions, type RepairProgress } from './owner-replication.ts'
export { fileHealth, type FileHealth, type BlobHealth, type HolderHealth } from './health.ts'
export { Auditor, type AuditorOptions, type AuditSummary, type HolderFaultKind } from './audit.ts'
export { Scrubber, type ScrubberOptions, type ScrubProgress, type ScrubResult, type ScrubSummary } from './scrubber.ts'
export { recoverBlobs, type RecoverProgress, type RecoverOptions, type RecoverResult } from './recover.ts'
export { HolderSweep, type HolderSweepOptions, type SweepResult } from './holder-sweep.ts'
