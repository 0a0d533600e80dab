// Looking at (and damaging) the blobs one node keeps on disk, for tests of audits and scrub.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { VaultNode } from '../../src/index.ts'

/** Whether `node` has `owner`'s blob `id` on disk with bytes that still hash to its ID. */
export async function intactOn (node: VaultNode, owner: string, id: string): Promise<boolean> {
  const bytes = await readFile(node.vault.store.pathOf(owner, id)).catch(() => undefined)
  return bytes !== undefined && createHash('sha256').update(bytes).digest('hex') === id
}

/** One blob of `owner` on `holder`'s disk: its ID and path. */
export async function someHeldBlob (holder: VaultNode, owner: string): Promise<{ id: string, path: string }> {
  for await (const id of holder.vault.store.list(owner)) return { id, path: holder.vault.store.pathOf(owner, id) }
  throw new Error('the holder holds nothing for the owner')
}
