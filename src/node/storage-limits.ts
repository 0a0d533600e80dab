// What a holder keeps for other owners when the user set no cap: a share of the free disk under
// the data dir at start, and per owner a share of that, so no one member can fill the node.
import { statfs } from 'node:fs/promises'
import type { ResolvedNodeConfig } from './config.ts'

/** Without --max-storage: what is held for others now plus this share of the free disk. */
export const DEFAULT_FREE_DISK_SHARE = 0.5
/** Without --max-per-owner: this share of the storage cap per other owner. */
export const DEFAULT_PER_OWNER_SHARE = 0.25

export interface StorageCaps { maxStorageBytes: number, maxPerOwnerBytes: number }

/** The caps of a holder: the configured ones, else the defaults computed from `dir`'s free disk. */
export async function storageCaps (config: ResolvedNodeConfig, dir: string, heldForOthersBytes: number): Promise<StorageCaps> {
  let maxStorageBytes = config.maxStorageBytes
  if (maxStorageBytes === undefined) {
    const fs = await statfs(dir)
    maxStorageBytes = heldForOthersBytes + Math.floor(fs.bavail * fs.bsize * DEFAULT_FREE_DISK_SHARE)
  }
  const maxPerOwnerBytes = config.maxPerOwnerBytes ?? Math.floor(maxStorageBytes * DEFAULT_PER_OWNER_SHARE)
  return { maxStorageBytes, maxPerOwnerBytes }
}
