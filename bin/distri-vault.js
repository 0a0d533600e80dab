#!/usr/bin/env node
// The `distri-vault` command. The CLI needs Node >= 22 (node:sqlite, libp2p 3); when started by an
// older Node (the machine's own), it re-runs itself under the Node 24 the repo pins in node_modules.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

if (major >= 22) {
  await import('../dist/cli/main.js')
} else {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(pinned)) {
    process.stderr.write(`error: distri-vault needs Node >= 22 (this is ${process.version}); run "npm install" in ${root} to get the pinned Node 24 (NOT_INITIALIZED)\n`)
    process.exit(1)
  }
  const child = spawn(pinned, [join(root, 'dist', 'cli', 'main.js'), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, DV_LAUNCHER_PID: String(process.pid) } })
  // A signal sent to this process alone is passed on; one sent to the whole process group (Ctrl-C)
  // reaches the child twice, which the node counts as one request. Killed outright, this launcher
  // cannot pass anything on: the node notices (DV_LAUNCHER_PID) and stops by itself.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal)
      process.kill(process.pid, signal)
    }
    else process.exit(code ?? 1)
  })
}
