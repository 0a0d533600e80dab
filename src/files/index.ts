// files/: the file operations of one owner — put, get, ls, rm, share, catalog rebuild.
export { Vault, type VaultOptions, type OpenFile } from './vault.ts'
export { checkFileName, type Manifest } from './manifest.ts'
export type { RemoteBlobs } from './chunk-source.ts'
export type { BlobReplication, ReplicaTarget } from './context.ts'
export type { PutOptions, PutResult } from './put.ts'
export type { ByteRange } from './read.ts'
export { openLocalFile, createLocalFile, fitFileName, type LocalFile, type LocalTarget } from './local-file.ts'
export type { RebuildResult } from './rebuild.ts'
