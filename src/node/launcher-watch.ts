// A node started through a launcher must not outlive it. `bin/distri-vault.js` under an old Node
// runs the node as its child (it says so in DV_LAUNCHER_PID); `npm start` and `npx` run it under
// npm and a shell. Killed with SIGKILL, such a launcher cannot pass anything on, and its node would
// keep serving the API with nobody to stop it: so the node watches the launcher's processes
// (by PID and start time, as PIDs are reused) and stops cleanly when one of them is gone.
import { commandLine, isAlive, parentPid, processStartTime } from './processes.ts'

interface Watched { pid: number, started: string | undefined }

const NPM = /^(npm|npx)(\s|$)|npm-cli\.js|npx-cli\.js/
const MAX_DEPTH = 4

/** The processes whose end means this node's launcher is gone (none when started directly). */
export function findLaunchers (env: NodeJS.ProcessEnv = process.env): number[] {
  const found = new Set<number>()
  const direct = Number(env.DV_LAUNCHER_PID)
  if (Number.isInteger(direct) && direct > 1 && direct !== process.pid) found.add(direct)
  if (env.npm_lifecycle_event !== undefined || env.npm_command !== undefined) {
    // Up from our parent to the npm process that ran us (a shell may be in between).
    const path: number[] = []
    let pid: number | undefined = process.ppid
    for (let depth = 0; depth < MAX_DEPTH && pid !== undefined && pid > 1; depth++) {
      path.push(pid)
      if (NPM.test(commandLine(pid) ?? '')) { for (const p of path) found.add(p); break }
      pid = parentPid(pid)
    }
  }
  return [...found]
}

/** Calls `onGone` once when a launcher process ends; returns the function that stops watching. */
export function watchLaunchers (pids: number[], onGone: (pid: number) => void, everyMs = 500): () => void {
  const watched: Watched[] = pids.map(pid => ({ pid, started: processStartTime(pid) }))
  if (watched.length === 0) return () => {}
  const timer = setInterval(() => {
    const gone = watched.find(w => w.started === undefined ? !isAlive(w.pid) : processStartTime(w.pid) !== w.started)
    if (gone === undefined) return
    clearInterval(timer)
    onGone(gone.pid)
  }, everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
