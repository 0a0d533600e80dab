// V8 settings a node process needs from its first instruction, which no API can change later:
// the young generation's size. By default V8 lets it grow to 128 MiB on a big machine (64 MiB
// semi-spaces) — pages that, once a put has streamed through them, stay resident: ~50 MiB of a
// node's RSS for nothing (docs/PERFORMANCE.md). `start` therefore replaces its own process image
// (execve: same PID, same stdio, so signals and `kill -9` reach the node itself) with Node started
// with NODE_FLAGS, before anything is loaded. `DV_NODE_FLAGS=` (empty) runs without them.
const NODE_FLAGS = ['--max-semi-space-size=8']

export function relaunchWithNodeFlags (): void {
  const flags = process.env.DV_NODE_FLAGS === undefined ? NODE_FLAGS : process.env.DV_NODE_FLAGS.split(' ').filter((f) => f !== '')
  const missing = flags.filter((f) => !process.execArgv.includes(f))
  if (missing.length === 0 || process.env.DV_RELAUNCHED === '1' || typeof process.execve !== 'function') return
  try {
    process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, ...process.argv.slice(1)], { ...process.env, DV_RELAUNCHED: '1' })
  } catch {
    // execve refused (a sandbox, an odd platform): run as we are, only with more memory.
  }
}
