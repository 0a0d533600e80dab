// node/: composes the subsystems into a running node; data directory, config, init.
export { VaultNode, createNode, type NodeStatus, type PeerStatus, type NodeTuning } from './node.ts'
export { tuningFromEnv, type EnvTuning } from './env-tuning.ts'
export { resolveDataDir, dataPaths, type DataPaths } from './data-dir.ts'
export { initDataDir, readNetworkKeyFile, type InitOptions, type InitResult } from './init.ts'
export { parseSize, parseReplicas, parseHostPort, DEFAULT_API, DEFAULT_LISTEN, DEFAULT_REPLICAS, type NodeConfig, type ReplicaTarget } from './config.ts'
