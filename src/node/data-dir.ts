// The data directory: where it is (--data, $DV_DATA, ~/.distri-vault) and what lives in it.
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export interface DataPaths {
  root: string
  identity: string
  networkKey: string
  catalog: string
  apiFile: string
  storage: string
  /** Present while a node runs; found at start it means the last run did not stop cleanly. */
  runMarker: string
  /**
   * Written by `init --recover`, removed by the first complete `recover`: until then this disk does
   * not know the owner's history, so deletions to holders are held back (a chunk removed here may
   * belong to an old file too: chunk IDs depend only on the content and the vault key).
   */
  recoverPending: string
  /** The peers of the last run (net/peer-memory.ts). */
  knownPeers: string
}

export function resolveDataDir (explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit ?? (env.DV_DATA !== undefined && env.DV_DATA !== '' ? env.DV_DATA : join(homedir(), '.distri-vault'))
  return resolve(chosen)
}

export function dataPaths (root: string): DataPaths {
  return {
    root,
    identity: join(root, 'identity.json'),
    networkKey: join(root, 'network.key'),
    catalog: join(root, 'catalog.db'),
    apiFile: join(root, 'api.json'),
    storage: join(root, 'storage'),
    runMarker: join(root, 'node.pid'),
    recoverPending: join(root, 'recover-pending'),
    knownPeers: join(root, 'peers.json')
  }
}
