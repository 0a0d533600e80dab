// V8 settings a node process needs from its first instruction, which no API can change later:
// the young generation's size. By default V8 lets it grow to 128 MiB on a big machine (64 MiB
// semi-spaces) — pages that, once a put has streamed through them, stay resident: ~50 MiB of a
// node's RSS for nothing (docs/PERFORMANCE.md). `start` therefore replaces its own process image
// (execve: same PID, same stdio, so signals and `kill -9` reach the node itself) with Node started
// with NODE_FLAGS, before anything is loaded. `DV_NODE_FLAGS=` (empty) runs without them.
//
// And the old generation's first limit: by default V8 sets it ~15 MB above what a node keeps live
// (~33 MB), so a holder receiving a stream marked and compacted its whole heap every ~0.6 s (14–35
// full GCs per 256 MiB, a third of its CPU). Starting at 96 MB, none in a 128 MiB 3-copy put:
// 78 → 61 CPU-s per GB summed over the three nodes, peak RSS +5–10 MiB (docs/PERFORMANCE.md,
// "Chained replication: CPU, session 6").
export const NODE_FLAGS = ['--max-semi-space-size=8', '--initial-old-space-size=96']

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
