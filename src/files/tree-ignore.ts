// A folder's `.dvignore` (gitignore syntax, through the `ignore` package): the entries a folder's
// put and its sync leave out. Only the root's file counts (as `.dockerignore`); it is stored itself.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import ignore from 'ignore'
import { VaultError } from '../errors.ts'

export const IGNORE_FILE = '.dvignore'

/** A .dvignore bigger than this is refused: it is a list of patterns, not data. */
const MAX_IGNORE_BYTES = 1024 * 1024

/** True when the entry at `path` (inside the tree, "/"-joined, never "") is left out. */
export type TreeSkip = (path: string, isDir: boolean) => boolean

/** The root's .dvignore as a matcher; undefined when the folder has none. */
export async function loadTreeIgnore (root: string): Promise<TreeSkip | undefined> {
  let text: string
  try {
    const bytes = await readFile(join(root, IGNORE_FILE))
    if (bytes.length > MAX_IGNORE_BYTES) throw new VaultError('BAD_INPUT', `${join(root, IGNORE_FILE)} is larger than 1 MiB`)
    text = bytes.toString('utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    if (err instanceof VaultError) throw err
    throw new VaultError('BAD_INPUT', `cannot read ${join(root, IGNORE_FILE)}: ${code ?? String(err)}`)
  }
  const matcher = ignore().add(text)
  // gitignore's rules: a pattern ending in "/" matches folders only, which the matcher sees by the
  // trailing slash; a folder left out is not walked, so nothing under it can be put back.
  return (path, isDir) => matcher.ignores(isDir ? `${path}/` : path)
}
