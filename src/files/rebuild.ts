// Rebuilds the catalog from the sealed manifests in storage/<own id>/ alone. A blob is a manifest
// of this owner exactly when its read key unwraps with the vault key; everything else is a chunk.
// This is what makes a lost catalog.db — or a whole lost disk, with `recover` — survivable.
import { MANIFEST_HEADER_BYTES, unwrapReadKey, openManifest } from '../crypto/index.ts'
import type { VaultContext } from './context.ts'
import { parseManifest } from './manifest.ts'

export interface RebuildResult { files: number, blobs: number, skipped: number }

export async function rebuildCatalog (ctx: VaultContext, defaultTarget: number): Promise<RebuildResult> {
  const { store, catalog, nodeId, vaultKey } = ctx
  const result: RebuildResult = { files: 0, blobs: 0, skipped: 0 }
  for await (const id of store.list(nodeId)) {
    result.blobs++
    if (catalog.isReferenced(id)) continue
    const head = await store.head(nodeId, id, MANIFEST_HEADER_BYTES).catch(() => null)
    if (head === null) continue
    const readKey = unwrapReadKey(vaultKey, head)
    if (readKey === null) continue
    try {
      const manifest = parseManifest(openManifest(id, readKey, await store.get(nodeId, id)))
      catalog.insertFile({
        id,
        name: manifest.name,
        size: manifest.size,
        mtime: manifest.mtime,
        ctime: manifest.ctime,
        replicas: 1,
        target: manifest.target ?? defaultTarget
      }, manifest.chunks)
      result.files++
    } catch {
      // A damaged manifest is skipped, not fatal: the other files must still come back.
      result.skipped++
    }
  }
  // Two manifests of one name (a crash between writing a new version and dropping the old one):
  // the newest wins, as it would have without the crash.
  catalog.dropShadowedNames()
  return result
}
