// Section "command": how long a one-shot verb (`ls`) takes, from the process's start to its exit,
// through each way a user can run it: the `distri-vault` command itself (what `npm link` puts on
// PATH: bin/distri-vault.js execs the pinned Node directly), `npx distri-vault`, and the pinned
// Node running dist/cli/main.js, against a node holding ~1,000 files (so `ls` has rows to print).
// The baseline, measured in the same run, is the pinned Node doing nothing (`node -e 0`): the
// floor no Node CLI can go under on this machine right now. `BENCH_COMMAND_FILES=N` to change 1,000.
// Next to wall time, the CPU time (user + system) of each way but npx, in a second interleaved
// pass: on a shared machine it moves far less with the load than wall time does.
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { apiPut } from './lib/http.ts'
import { max, median, min } from './lib/stats.ts'
import type { BenchContext } from './lib/types.ts'

export const title = 'command: wall and CPU ms of `ls` (a node holding ~1,000 files) from start to exit, per launcher, against a bare Node start'
export const targets = { bin_ls_ms: { max: 200, note: 'on an idle machine; see the ratio to node_bare_ms on a loaded one' } }

const RUNS = 20
const FILES = Number(process.env.BENCH_COMMAND_FILES ?? 1000)
const PUTS_AT_ONCE = 8

async function wallMs (command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ ms: number, stdout: string }> {
  const started = process.hrtime.bigint()
  let stdout = ''
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'ignore'] })
    child.stdout.setEncoding('utf8').on('data', (t: string) => { stdout += t })
    child.on('error', reject)
    child.on('close', resolve)
  })
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}`)
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, stdout }
}

/**
 * User + system CPU ms of one run of the command and everything it started, from bash's `times`
 * (its children's line, to the ms): Node gives no rusage of a child.
 */
async function cpuMs (command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const { stdout } = await wallMs('/bin/bash', ['-c', '"$@" >/dev/null || exit 1; times', 'bash', command, ...args], env, cwd)
  const children = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stdout.trim())
  if (children === null) throw new Error(`no CPU times in bash's output: ${stdout}`)
  const [, userMin, userS, sysMin, sysS] = children.map(Number)
  return (userMin * 60 + userS + sysMin * 60 + sysS) * 1000
}

/** FILES small files through the API, a few at once (the CLI's start-up is not what is measured here). */
async function fill (ctx: BenchContext, dataDir: string): Promise<void> {
  const body = join(ctx.workDir, 'command-file.txt')
  await writeFile(body, 'a small file for ls to list\n')
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < FILES) await apiPut(dataDir, body, 28, `notes/file-${String(next++).padStart(5, '0')}.txt`)
  }
  await Promise.all(Array.from({ length: PUTS_AT_ONCE }, worker))
}

export default async function command (ctx: BenchContext): Promise<Record<string, number>> {
  const node = await ctx.startNode()
  const started = performance.now()
  await fill(ctx, node.dataDir)
  ctx.log(`stored ${FILES} files in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const env = { ...process.env, DV_DATA: node.dataDir }
  const listed = JSON.parse((await wallMs(ctx.node, [ctx.cli, 'ls', '--json'], env, ctx.repoRoot)).stdout) as unknown[]
  if (listed.length !== FILES) throw new Error(`ls listed ${listed.length} files, expected ${FILES}`)
  const ways: Record<string, [string, string[]]> = {
    node_bare: [ctx.node, ['-e', '0']],
    bin_ls: [join(ctx.repoRoot, 'bin', 'distri-vault.js'), ['ls']],
    node_main_ls: [ctx.node, [ctx.cli, 'ls']],
    npx_ls: ['npx', ['distri-vault', 'ls']]
  }
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map(k => [k, []]))
  // Interleaved (a, b, c, d, a, b, …) so a load change on the shared machine hits every way alike;
  // the first round warms the compile cache and the file cache and is not counted.
  for (let i = 0; i <= RUNS; i++) {
    for (const [name, [cmd, args]] of Object.entries(ways)) {
      const { ms } = await wallMs(cmd, args, env, ctx.repoRoot)
      if (i > 0) times[name].push(ms)
    }
  }
  const cpuWays = Object.keys(ways).filter(name => name !== 'npx_ls')
  const cpu: Record<string, number[]> = Object.fromEntries(cpuWays.map(k => [k, []]))
  for (let i = 0; i < RUNS; i++) {
    for (const name of cpuWays) cpu[name].push(await cpuMs(ways[name][0], ways[name][1], env, ctx.repoRoot))
  }
  await node.stop()
  const result: Record<string, number> = { files_listed: FILES, runs: RUNS }
  for (const [name, values] of Object.entries(times)) {
    result[`${name}_ms`] = median(values)
    result[`${name}_min_ms`] = min(values)
    result[`${name}_max_ms`] = max(values)
  }
  for (const [name, values] of Object.entries(cpu)) result[`${name}_cpu_ms`] = median(values)
  result.bin_ls_cpu_over_bare = result.bin_ls_cpu_ms / result.node_bare_cpu_ms
  result.bin_ls_over_bare = result.bin_ls_ms / result.node_bare_ms
  result.npx_ls_over_bin = result.npx_ls_ms / result.bin_ls_ms
  return result
}
