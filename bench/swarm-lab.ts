// Section "swarm-lab" (issue 17): a swarm get over capped links, in a namespace lab (root only;
// shared/notes/network-lab.md). Owner a puts a file with 3 copies (a, b, c) while the links are
// uncapped; then each of the three holders' uplinks is capped at 50 Mbit/s (tbf on its veth) and a
// fourth node d, uncapped, gets the file by capability. Target: ≥ 0.8 of the combined 150 Mbit/s.
import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { NetLab, type LabHost } from '../test/helpers/netlab.ts'
import { sha256File } from './lib/files.ts'
import { startNodeProcess, type NodeProc } from './lib/node-proc.ts'
import { MiB } from './lib/stats.ts'
import type { BenchContext, Target } from './lib/types.ts'

export const title = 'swarm-lab: get from 3 holders each capped at 50 Mbit/s up, reader uncapped (namespaces + tbf)'

export const targets: Record<string, Target> = {
  swarm_get_to_combined_uplinks: { min: 0.8 }
}

/** Each holder's uplink (env BENCH_LAB_MBIT, default 50): a lower cap shows the link-bound regime on a busy machine. */
const HOLDER_UPLINK_MBIT = Number(process.env.BENCH_LAB_MBIT ?? 50)
const P2P_PORT = 4001
const run = promisify(execFile)

/** Why the lab cannot run here (needs root and `ip netns`), or undefined. */
async function labUnavailable (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  try {
    await run('tc', ['-V'])
  } catch {
    return 'tc is not installed'
  }
  return undefined
}

interface LabNode { host: LabHost, proc: NodeProc }

async function cliIn (ctx: BenchContext, lab: NetLab, host: LabHost, args: string[], timeoutMs = 600_000): Promise<string> {
  const result = await lab.exec(host.ns, [ctx.node, ctx.cli, ...args], { timeoutMs })
  if (result.code !== 0) throw new Error(`distri-vault ${args[0]} in ${host.ns} exited ${result.code}: ${result.stderr.trim()}`)
  return result.stdout
}

/** Started nodes, stopped before their namespaces go. */
const running: NodeProc[] = []

async function startIn (ctx: BenchContext, host: LabHost, dataDir: string, args: string[]): Promise<LabNode> {
  const proc = await startNodeProcess('ip', ctx.cli, dataDir, {
    nodeArgs: ['netns', 'exec', host.ns, ctx.node],
    args: ['--listen', `${host.ip}:${P2P_PORT}`, ...args]
  })
  running.push(proc)
  return { host, proc }
}

async function stopAll (): Promise<void> {
  await Promise.all(running.splice(0).map(async p => await p.stop()))
}

async function waitForPeers (ctx: BenchContext, lab: NetLab, node: LabNode, count: number): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const peers = JSON.parse(await cliIn(ctx, lab, node.host, ['peers', '--json', '--data', node.proc.dataDir])) as Array<{ connected: boolean }>
    if (peers.filter(p => p.connected).length >= count) return
    if (Date.now() > deadline) throw new Error(`${node.host.ns} sees ${peers.length} peers, expected ${count}`)
    await new Promise(resolve => setTimeout(resolve, 300))
  }
}

/** Caps what `host` sends (its uplink): tbf on its one veth. */
async function capUplink (lab: NetLab, host: LabHost, mbit: number): Promise<void> {
  const script = `tc qdisc replace dev "$(ls /sys/class/net | grep -v '^lo$' | head -n 1)" root tbf rate ${mbit}mbit burst 64kb latency 50ms`
  const result = await lab.exec(host.ns, ['sh', '-c', script])
  if (result.code !== 0) throw new Error(`tbf in ${host.ns}: ${result.stderr.trim()}`)
}

/** A get by capability on `reader` (a fresh output, every time: it holds nothing afterwards either). */
async function timedGet (ctx: BenchContext, lab: NetLab, reader: LabNode, cap: string, sha256: string): Promise<{ seconds: number, cpu: number, peakRss: number }> {
  const out = join(ctx.workDir, 'lab-get.bin')
  const cpuBefore = await reader.proc.cpuSeconds()
  const peakRss = reader.proc.sampleRss(100)
  const started = performance.now()
  await cliIn(ctx, lab, reader.host, ['get', cap, '-o', out, '--data', reader.proc.dataDir])
  const seconds = (performance.now() - started) / 1000
  const cpu = (await reader.proc.cpuSeconds()) - cpuBefore
  const peak = peakRss()
  if (await sha256File(out) !== sha256) throw new Error('the lab get returned different bytes')
  await rm(out, { force: true })
  return { seconds, cpu, peakRss: peak }
}

export default async function swarmLab (ctx: BenchContext): Promise<Record<string, number>> {
  const why = await labUnavailable()
  if (why !== undefined) {
    ctx.log(`swarm-lab skipped: ${why}`)
    return {}
  }
  const fileBytes = Math.min(ctx.options.fileBytes, 128 * MiB)
  const file = await ctx.randomFile(fileBytes, 23)
  const lab = await NetLab.create()
  ctx.onCleanup(async () => { await stopAll(); await lab.destroy() })
  try {
    const hosts = await Promise.all(['a', 'b', 'c', 'd'].map(async (name, i) => await lab.publicHost(name, i + 1)))
    const dirs = await Promise.all(hosts.map(async (_, i) => await ctx.tempDir(`lab-${'abcd'[i]}-`)))
    await ctx.runCli(['init', '--data', dirs[0]])
    for (const dir of dirs.slice(1)) await ctx.runCli(['init', '--data', dir, '--join', join(dirs[0], 'network.key')])
    const bootstrap = ['--peer', `${hosts[0].ip}:${P2P_PORT}`, '--replicas', '3']
    const a = await startIn(ctx, hosts[0], dirs[0], ['--replicas', '3'])
    const holders = [a, await startIn(ctx, hosts[1], dirs[1], bootstrap), await startIn(ctx, hosts[2], dirs[2], bootstrap)]
    await waitForPeers(ctx, lab, a, 2)
    ctx.log(`swarm-lab: putting ${fileBytes / MiB} MiB with 3 copies (links uncapped)`)
    const put = JSON.parse(await cliIn(ctx, lab, a.host, ['put', file.path, '--name', 'lab.bin', '--json', '--data', a.proc.dataDir])) as { replicas: number }
    if (put.replicas !== 3) throw new Error(`the put reached ${put.replicas} copies, expected 3`)
    const cap = (await cliIn(ctx, lab, a.host, ['share', 'lab.bin', '--data', a.proc.dataDir])).trim()
    for (const h of holders) await capUplink(lab, h.host, HOLDER_UPLINK_MBIT)
    const d = await startIn(ctx, hosts[3], dirs[3], bootstrap)
    await waitForPeers(ctx, lab, d, 3)
    ctx.log('swarm-lab: get by capability on d from the 3 capped holders')
    const swarm = await timedGet(ctx, lab, d, cap, file.sha256)
    // The same get from one capped holder (b and c stopped): what a get bound to one uplink does
    // in this run, on this machine's load.
    await Promise.all(holders.slice(1).map(async h => await h.proc.stop()))
    ctx.log('swarm-lab: the same get from a alone')
    const single = await timedGet(ctx, lab, d, cap, file.sha256)
    const mbit = (seconds: number): number => fileBytes * 8 / seconds / 1e6
    return {
      file_MiB: fileBytes / MiB,
      holder_uplink_Mbit: HOLDER_UPLINK_MBIT,
      swarm_get_seconds: swarm.seconds,
      swarm_get_Mbit: mbit(swarm.seconds),
      swarm_get_to_combined_uplinks: mbit(swarm.seconds) / (3 * HOLDER_UPLINK_MBIT),
      one_holder_get_Mbit: mbit(single.seconds),
      swarm_to_one_holder_ratio: single.seconds / swarm.seconds,
      reader_cpu_s_per_GB: swarm.cpu / (fileBytes / 1e9),
      reader_cpu_share_of_a_core: swarm.cpu / swarm.seconds,
      reader_peak_rss_MiB: swarm.peakRss / MiB
    }
  } finally {
    await stopAll()
    await lab.destroy()
  }
}
