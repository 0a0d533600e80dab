// Whether a synced folder differs from the newest stored version of its name: the walk (with the
// folder's .dvignore) and the stored listing are read in step, both in listing order, flat memory.
// Folder mtimes are left out of the comparison: a file added or removed changes its folder's mtime
// too (then the entries differ anyway), and an ignored file coming and going must not make a version.
import type { TreeEntry, TreeSkip, Vault, WalkedEntry } from '../files/index.ts'
import { walkTree } from '../files/index.ts'

export async function treeDiffers (vault: Vault, name: string, root: string, skip: TreeSkip | undefined): Promise<boolean> {
  const newest = vault.catalog.byName(name)
  if (newest === undefined || newest.kind !== 'tree') return true
  const stored = vault.treeEntries(await vault.open(newest.id))
  let problem = false
  try {
    // Anything the walk cannot read is a difference: the put that follows reports it.
    for await (const entry of walkTree(root, () => { problem = true }, skip)) {
      const old = await stored.next()
      if (problem || old.done === true || !sameEntry(old.value, entry)) return true
    }
    return problem || (await stored.next()).done !== true
  } finally {
    await stored.return(undefined)
  }
}

function sameEntry (old: TreeEntry, now: WalkedEntry): boolean {
  if (old.path !== now.path || old.type !== now.type) return false
  if (now.type === 'symlink') return old.target === now.target
  if ((now.stat.mode & 0o7777) !== old.mode) return false
  return now.type === 'dir' || (old.size === now.stat.size && old.mtime === now.stat.mtimeMs)
}
