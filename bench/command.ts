// Section "command": how long a one-shot verb (`ls`) takes, from the process's start to its exit,
// through each way a user can run it: the `distri-vault` command itself (what `npm link` puts on
// PATH: bin/distri-vault.js execs the pinned Node directly), `npx distri-vault`, and the pinned
// Node running dist/cli/main.js. The baseline, measured in the same run, is the pinned Node
// doing nothing (`node -e 0`): the floor no Node CLI can go under on this machine right now.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { median } from './lib/stats.ts'
import type { BenchContext } from './lib/types.ts'

export const title = 'command: wall ms of `ls` from start to exit, per launcher, against a bare Node start'
export const targets = { bin_ls_ms: { max: 200, note: 'on an idle machine; see the ratio to node_bare_ms on a loaded one' } }

const RUNS = 11

async function wallMs (command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const started = process.hrtime.bigint()
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'ignore'] })
    child.on('error', reject)
    child.on('exit', resolve)
  })
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}`)
  return Number(process.hrtime.bigint() - started) / 1e6
}

export default async function command (ctx: BenchContext): Promise<Record<string, number>> {
  const node = await ctx.startNode()
  const env = { ...process.env, DV_DATA: node.dataDir }
  const ways: Record<string, [string, string[]]> = {
    node_bare_ms: [ctx.node, ['-e', '0']],
    bin_ls_ms: [join(ctx.repoRoot, 'bin', 'distri-vault.js'), ['ls']],
    node_main_ls_ms: [ctx.node, [ctx.cli, 'ls']],
    npx_ls_ms: ['npx', ['distri-vault', 'ls']]
  }
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map(k => [k, []]))
  // Interleaved (a, b, c, d, a, b, …) so a load change on the shared machine hits every way alike;
  // the first round warms the compile cache and the file cache and is not counted.
  for (let i = 0; i <= RUNS; i++) {
    for (const [name, [cmd, args]] of Object.entries(ways)) {
      const ms = await wallMs(cmd, args, env, ctx.repoRoot)
      if (i > 0) times[name].push(ms)
    }
  }
  await node.stop()
  const result: Record<string, number> = {}
  for (const [name, values] of Object.entries(times)) result[name] = median(values)
  result.bin_ls_over_bare = result.bin_ls_ms / result.node_bare_ms
  result.npx_ls_over_bin = result.npx_ls_ms / result.bin_ls_ms
  return result
}
