// What this machine says about a process by its PID: alive or not, when it started (so a reused
// PID is told apart), its command line, its parent. Linux's /proc where it exists; elsewhere only
// "alive" is known and the other answers are undefined.
import { readFileSync } from 'node:fs'

/**
 * Whether `pid` is a running process. A zombie (killed or exited, its parent has not waited for it
 * yet) still answers kill(pid, 0) but runs nothing: where /proc tells, it is not alive.
 */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  const state = statFields(pid)?.[0]
  return state !== 'Z' && state !== 'X'
}

/** The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), unique with its PID. */
export function processStartTime (pid: number): string | undefined {
  return statFields(pid)?.[19]
}

/** The parent's PID (field 4 of /proc/PID/stat). */
export function parentPid (pid: number): number | undefined {
  const ppid = statFields(pid)?.[1]
  return ppid === undefined ? undefined : Number(ppid)
}

/** The command line, arguments joined by spaces. */
export function commandLine (pid: number): string | undefined {
  return readProc(pid, 'cmdline')?.replaceAll('\0', ' ').trim()
}

/** Fields 3… of /proc/PID/stat (field 3 is the state: R, S, D, Z…): the command name (field 2) is in parentheses and may hold spaces. */
function statFields (pid: number): string[] | undefined {
  const stat = readProc(pid, 'stat')
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

function readProc (pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8')
  } catch {
    return undefined
  }
}
