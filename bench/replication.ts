// Section "replication": a put with 3 replicas on 3 local node processes, and a get of it through a
// capability from a fourth node that holds nothing (every chunk comes over the network), both as
// MB/s and as a ratio to a single-node put of the same file measured in the same run.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256File } from './lib/files.ts'
import { max, mbps, spreadPct } from './lib/stats.ts'
import type { BenchContext, RandomFile } from './lib/types.ts'
import type { NodeProc } from './lib/node-proc.ts'

export const title = 'replication: 3 copies on 3 local nodes, and a get from a node holding nothing'

interface Status { addresses: string[], peers: unknown[] }

export async function statusOf (ctx: BenchContext, node: NodeProc): Promise<Status> {
  return JSON.parse((await ctx.runCli(['status', '--json', '--data', node.dataDir])).stdout) as Status
}

export async function waitForPeers (ctx: BenchContext, nodes: NodeProc[], count: number): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const seen = await Promise.all(nodes.map(async n => (await statusOf(ctx, n)).peers.length))
    if (seen.every(n => n >= count)) return
    if (Date.now() > deadline) throw new Error(`nodes did not connect: peers seen ${seen.join(', ')}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

/** Starts a node of the network `first` belongs to (or the first one), bootstrapped from `first`. */
export async function joinNode (ctx: BenchContext, first?: NodeProc): Promise<NodeProc> {
  if (first === undefined) return await ctx.startNode({ args: ['--replicas', '3'] })
  const dataDir = await ctx.tempDir('repl-node-')
  await ctx.runCli(['init', '--data', dataDir, '--join', join(first.dataDir, 'network.key')])
  const p2p = (await statusOf(ctx, first)).addresses[0]
  return await ctx.startNode({ dataDir, args: ['--peer', p2p, '--replicas', '3'] })
}

async function round (ctx: BenchContext, file: RandomFile): Promise<{ single: number, put3: number, remoteGet: number }> {
  const single = await ctx.startNode({ args: ['--replicas', '1'] })
  const singlePut = await ctx.runCli(['put', file.path, '--name', 'one.bin', '--json', '--data', single.dataDir])
  await single.stop()

  const a = await joinNode(ctx)
  const b = await joinNode(ctx, a)
  const c = await joinNode(ctx, a)
  try {
    await waitForPeers(ctx, [a, b, c], 2)
    const put = await ctx.runCli(['put', file.path, '--name', 'three.bin', '--json', '--data', a.dataDir])
    const stored = JSON.parse(put.stdout.trim()) as { replicas: number }
    if (stored.replicas !== 3) throw new Error(`put reached ${stored.replicas} copies, expected 3`)
    const cap = (await ctx.runCli(['share', 'three.bin', '--data', a.dataDir])).stdout.trim()
    const d = await joinNode(ctx, a)
    await waitForPeers(ctx, [d], 3)
    const out = join(ctx.workDir, 'remote.bin')
    const get = await ctx.runCli(['get', cap, '-o', out, '--data', d.dataDir])
    if (await sha256File(out) !== file.sha256) throw new Error('the remote get returned different bytes')
    await rm(out, { force: true })
    await d.stop()
    return { single: singlePut.seconds, put3: put.seconds, remoteGet: get.seconds }
  } finally {
    await Promise.all([a, b, c].map(async n => await n.stop()))
  }
}

export default async function replication (ctx: BenchContext): Promise<Record<string, number>> {
  const file = await ctx.randomFile(ctx.options.fileBytes, 7)
  const rounds: Array<{ single: number, put3: number, remoteGet: number }> = []
  for (let i = 0; i < ctx.options.repeat; i++) {
    ctx.log(`replication round ${i + 1}/${ctx.options.repeat}`)
    rounds.push(await round(ctx, file))
  }
  const single = rounds.map(r => mbps(file.bytes, r.single))
  const put3 = rounds.map(r => mbps(file.bytes, r.put3))
  const remote = rounds.map(r => mbps(file.bytes, r.remoteGet))
  return {
    single_put_MBps: max(single),
    put_3_replicas_MBps: max(put3),
    put_3_replicas_ratio: max(put3) / max(single),
    remote_get_MBps: max(remote),
    remote_get_ratio: max(remote) / max(single),
    put_3_replicas_spread_pct: spreadPct(put3),
    remote_get_spread_pct: spreadPct(remote)
  }
}
