// redundancy/: the copy target (N | 'all'): parsed, checked, stored and answered in one place.
export {
  DEFAULT_REPLICAS, MAX_REPLICAS, STORED_ALL, REPLICAS_RULE, isReplicaTarget, replicaTargetOf, parseReplicaTarget,
  storedTarget, targetFromStored, widestTarget, wantedCopiesSql, replication, type ReplicaTarget, type RedundancyPolicy
} from './policy.ts'
