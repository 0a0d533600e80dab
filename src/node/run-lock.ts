// One node per data directory. node.pid holds the running node's PID and the kernel's start time
// of that process; finding it at start with that process gone means the last run was killed,
// which triggers crash clean-up. A PID alone is not proof: after a reboot or a crash the PID may
// belong to an unrelated live process, which must not keep the node from starting.
import { readFile, rm } from 'node:fs/promises'
import { VaultError } from '../errors.ts'
import { writeFileAtomic } from '../atomic/index.ts'
import { commandLine, isAlive, processStartTime } from './processes.ts'

/** Takes the lock; returns true when a previous run ended without stopping cleanly. */
export async function acquireRunLock (path: string): Promise<boolean> {
  const text = await readFile(path, 'utf8').catch(() => null)
  const [pidText, startedText] = (text ?? '').split('\n')
  const pid = Number.parseInt(pidText, 10)
  if (Number.isInteger(pid) && pid !== process.pid && isSameLiveNode(pid, startedText)) {
    throw new VaultError('ALREADY_EXISTS', `a node is already running on this data directory (pid ${pid})`)
  }
  await writeFileAtomic(path, `${process.pid}\n${processStartTime(process.pid) ?? ''}\n`, 0o600)
  return text !== null
}

export async function releaseRunLock (path: string): Promise<void> {
  await rm(path, { force: true })
}

/**
 * Whether `pid` is the node that wrote the lock: alive, and (where /proc tells) started when the
 * lock says. A lock written before start times were recorded is believed only if the process is
 * a distri-vault one by its command line.
 */
function isSameLiveNode (pid: number, recordedStart: string | undefined): boolean {
  if (!isAlive(pid)) return false
  const started = processStartTime(pid)
  if (started === undefined) return true // no /proc (not Linux, or hidden): the PID is all we have
  if (recordedStart !== undefined && recordedStart !== '') return recordedStart === started
  const cmdline = commandLine(pid)
  return cmdline === undefined || /distri-vault|cli[/\\]main\.(js|ts)/.test(cmdline)
}
