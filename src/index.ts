// distri-vault as a library: createNode() starts a node the way `distri-vault start` does.
export { createNode, VaultNode, initDataDir, type NodeConfig, type NodeStatus, type PeerStatus, type NodeTuning } from './node/index.ts'
export { VaultError, type ErrorCode } from './errors.ts'
export type { PutResult, OpenFile, Manifest } from './files/index.ts'
export type { VaultEvents, VaultEventName } from './events/index.ts'
