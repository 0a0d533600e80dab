// One node per data directory. node.pid holds the running node's PID; finding it at start with
// that process gone means the last run was killed, which triggers crash clean-up.
import { readFile, rm } from 'node:fs/promises'
import { VaultError } from '../errors.ts'
import { writeFileAtomic } from '../store/index.ts'

/** Takes the lock; returns true when a previous run ended without stopping cleanly. */
export async function acquireRunLock (path: string): Promise<boolean> {
  const text = await readFile(path, 'utf8').catch(() => null)
  const pid = text === null ? NaN : Number.parseInt(text, 10)
  if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) {
    throw new VaultError('ALREADY_EXISTS', `a node is already running on this data directory (pid ${pid})`)
  }
  await writeFileAtomic(path, `${process.pid}\n`, 0o600)
  return text !== null
}

export async function releaseRunLock (path: string): Promise<void> {
  await rm(path, { force: true })
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
