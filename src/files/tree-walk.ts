// Walking a folder on the node's own machine, in the listing's order (tree-listing.ts), without
// following links: a link is an entry of its own (its target text), never a way out of the tree.
// The walk holds one folder's names at a time per level of depth, never the whole tree.
import { constants, type Stats } from 'node:fs'
import { access, lstat, readdir, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { VaultError } from '../errors.ts'
import { TaskWindow } from '../concurrency/index.ts'
import { loadTreeIgnore, type TreeSkip } from './tree-ignore.ts'

export interface WalkedEntry {
  /** Inside the tree ("" = the root), components joined by "/". */
  path: string
  /** On this machine. */
  full: string
  type: 'file' | 'dir' | 'symlink' | 'other'
  stat: Stats
  /** A link's target text. */
  target?: string
}

/** What the walk could not read or store; the walk goes on past it. */
export type WalkProblem = (message: string) => void

/** `skip`: entries left out (the folder's .dvignore): not yielded, a folder not walked. */
export async function * walkTree (root: string, problem: WalkProblem, skip?: TreeSkip): AsyncGenerator<WalkedEntry> {
  // The root is what the user named: a link to a folder is followed there, and only there.
  const info = await stat(root).catch(() => null)
  if (info === null || !info.isDirectory()) throw new VaultError('NOT_FOUND', `the node finds no folder at ${root}`)
  yield { path: '', full: root, type: 'dir', stat: info }
  yield * walkChildren(root, '', problem, skip)
}

async function * walkChildren (dir: string, prefix: string, problem: WalkProblem, skip: TreeSkip | undefined): AsyncGenerator<WalkedEntry> {
  let raw: Buffer[]
  try {
    raw = await readdir(dir, { encoding: 'buffer' })
  } catch (err) {
    problem(`cannot read the folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    return
  }
  const names: string[] = []
  for (const bytes of raw) {
    const name = bytes.toString('utf8')
    // A name that is not UTF-8 would come back as another name: the vault cannot store it.
    if (!Buffer.from(name, 'utf8').equals(bytes)) problem(`cannot store ${join(dir, name)}: its name is not valid UTF-8`)
    else names.push(name)
  }
  names.sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
  // A folder's entries are looked at STAT_AT_ONCE at a time (one stat after another is most of a
  // re-put's time on a busy disk), and yielded in order.
  for (let from = 0; from < names.length; from += STAT_AT_ONCE) {
    const batch = names.slice(from, from + STAT_AT_ONCE)
    const looked = await Promise.all(batch.map(async (name) => {
      const full = join(dir, name)
      const stat = await lstat(full).catch(() => null)
      const target = stat?.isSymbolicLink() === true ? await readlink(full).catch(() => null) : undefined
      return { name, full, stat, target }
    }))
    for (const { name, full, stat, target } of looked) {
      const path = prefix === '' ? name : `${prefix}/${name}`
      if (skip?.(path, stat?.isDirectory() === true) === true) continue
      if (stat === null) { problem(`cannot read ${full}: it vanished while the folder was read`); continue }
      if (stat.isSymbolicLink()) {
        if (target === null || target === undefined) problem(`cannot read the link ${full}`)
        else yield { path, full, type: 'symlink', stat, target }
      } else if (stat.isDirectory()) {
        yield { path, full, type: 'dir', stat }
        yield * walkChildren(full, path, problem, skip)
      } else if (stat.isFile()) {
        yield { path, full, type: 'file', stat }
      } else {
        problem(`cannot store ${full}: not a regular file, folder or link (a FIFO, socket or device)`)
      }
    }
  }
}

/** Entries of one folder looked at (lstat) at once. */
const STAT_AT_ONCE = 64

/** Most problems reported at once: a folder of a million unreadable files says so in 50 lines. */
const MAX_PROBLEMS = 50

export interface TreeCheck { problems: string[], files: number, bytes: number }

/**
 * Everything that would make a folder's put fail, found before its first byte is stored: names the
 * vault cannot store, files and folders the node cannot read, special files.
 */
export async function checkTree (root: string, skip?: TreeSkip): Promise<TreeCheck> {
  skip ??= await loadTreeIgnore(root)
  const problems: string[] = []
  let more = 0
  const problem: WalkProblem = (message) => { if (problems.length < MAX_PROBLEMS) problems.push(message); else more++ }
  let files = 0
  let bytes = 0
  const checking = new TaskWindow({ tasks: 64 })
  for await (const entry of walkTree(root, problem, skip)) {
    if (entry.type !== 'file') continue
    files++
    bytes += entry.stat.size
    if (readableByMode(entry.stat)) continue
    // Several at once, as the stats: each is a system call on a thread of libuv's pool.
    const full = entry.full
    checking.track(access(full, constants.R_OK).catch(() => problem(`cannot read ${full}: permission denied`)))
    await checking.room()
  }
  await checking.settled()
  if (more > 0) problems.push(`… and ${more} more problems`)
  return { problems, files, bytes }
}

/** Readable for sure by its mode bits (no system call needed); otherwise access() decides (ACLs, groups). */
function readableByMode (stat: Stats): boolean {
  const uid = process.getuid?.()
  if (uid === undefined) return false
  if (uid === 0) return true
  if ((stat.mode & 0o004) !== 0) return true
  return stat.uid === uid && (stat.mode & 0o400) !== 0
}
