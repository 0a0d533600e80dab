#!/bin/sh
":" //; p="$(readlink -f "$0")"; n="${p%/bin/*}/node_modules/node/bin/node"; [ -x "$n" ] || n=node; exec "$n" "$p" "$@"
// The `distri-vault` command: a shell script and an ES module at once. Run as a command (npm link,
// npx, ./bin/distri-vault.js), the shell line above execs the Node 24 the repo pins
// (node_modules/node) directly, with no npm and no second Node in between: a verb returns in about
// the time that Node needs to start (docs/PERFORMANCE.md). Node skips the first line and reads
// the second as a string and a comment.
//
// The CLI needs Node >= 22 (node:sqlite, libp2p 3); when run by an older Node anyway (`node
// bin/distri-vault.js`, or no pinned Node installed), it re-runs itself under the pinned one.
// The modules of the re-run are loaded only when it is needed: on the usual path (Node 24) every
// import here would be start-up cost for each command.
const major = Number(process.versions.node.split('.')[0])

if (major >= 22) {
  await import('../dist/bundle/main.js')
} else {
  const { spawn } = await import('node:child_process')
  const { existsSync } = await import('node:fs')
  const { dirname, join } = await import('node:path')
  const { fileURLToPath } = await import('node:url')
  const root = join(dirname(fileURLToPath(import.meta.url)), '..')
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(pinned)) {
    process.stderr.write(`error: distri-vault needs Node >= 22 (this is ${process.version}); run "npm install" in ${root} to get the pinned Node 24 (NOT_INITIALIZED)\n`)
    process.exit(1)
  }
  const child = spawn(pinned, [join(root, 'dist', 'bundle', 'main.js'), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, DV_LAUNCHER_PID: String(process.pid) } })
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
