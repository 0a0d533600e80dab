// Section "link" (issue 17): how close replication runs to the machine's own limits on loopback.
// 1. One stream between two processes over our stack (TCP + private network + Noise + Yamux),
//    next to plain TCP and a node:tls socket in the same run.
// 2. A 3-copy put on 3 local nodes and a capability get on a 4th that holds nothing, with the
//    CPU-seconds per GB summed over every node process (CPU time stays comparable on a shared
//    machine, wall time does not), the full garbage collections per 256 MiB a holder receives,
//    and both speeds as ratios to a single-node put and get of the same file in the same run;
//    for the put also the bytes the owner sent per byte of file (chained replication: ~1, fan-out
//    ~2) and the highest RSS of any node.
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { benchLibp2pStream, benchTcp, benchTls } from './net.ts'
import { joinNode, waitForPeers } from './replication.ts'
import { sha256File } from './lib/files.ts'
import { max, mbps, median, MiB, min } from './lib/stats.ts'
import { apiOf, type NodeProc } from './lib/node-proc.ts'
import type { BenchContext, RandomFile, Target } from './lib/types.ts'

export const title = 'link: one stream vs plain TCP and node:tls; 3-copy put and capability get in CPU-s per GB'

export const targets: Record<string, Target> = {
  stack_to_tcp_ratio: { min: 0.5 },
  put3_cpu_s_per_GB: { max: 45 },
  put3_to_single_put_ratio: { min: 0.35 },
  capget_to_single_get_ratio: { min: 0.6 },
  put3_owner_sent_per_byte: { max: 1.2 },
  put3_peak_rss_MiB: { max: 256 }
}

const GB = 1e9

interface ClusterRound {
  singlePutSeconds: number
  singleGetSeconds: number
  singlePutCpu: number
  singleGetCpu: number
  put3Seconds: number
  put3Cpu: number
  /** Full (mark-compact) collections on the two holders during the put, per holder. */
  holderMajorGcs: number[]
  capGetSeconds: number
  capGetCpu: number
  /** Bytes the owner's sockets sent to its peers during the 3-copy put (Noise and Yamux included). */
  put3OwnerSentBytes: number
  /** Highest RSS of any of the 3 node processes during the 3-copy put. */
  put3PeakRssBytes: number
}

/** Bytes this node has sent to all its peers so far, by its traffic meter (the dashboard's). */
async function sentToPeers (node: NodeProc): Promise<number> {
  const { url, token } = await apiOf(node.dataDir)
  const peers = await (await fetch(new URL('/api/dashboard/peers', url), { headers: { authorization: `Bearer ${token}` } })).json() as Array<{ traffic: { sent: number } }>
  return peers.reduce((sum, p) => sum + p.traffic.sent, 0)
}

/** Full collections so far, from the node's /metrics (prom-client's GC observer). */
async function majorGcs (node: NodeProc): Promise<number> {
  const text = await (await fetch(new URL('/metrics', node.apiUrl))).text()
  const line = text.split('\n').find(l => l.startsWith('distri_vault_nodejs_gc_duration_seconds_count{') && l.includes('kind="major"'))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

async function cpuOf (nodes: NodeProc[]): Promise<number> {
  return (await Promise.all(nodes.map(async n => await n.cpuSeconds()))).reduce((a, b) => a + b, 0)
}

/** Runs `work` and returns its wall seconds and the CPU-seconds `nodes` used meanwhile. */
async function measured (nodes: NodeProc[], work: () => Promise<unknown>): Promise<{ seconds: number, cpu: number }> {
  const cpuBefore = await cpuOf(nodes)
  const started = performance.now()
  await work()
  const seconds = (performance.now() - started) / 1000
  return { seconds, cpu: (await cpuOf(nodes)) - cpuBefore }
}

async function getChecked (ctx: BenchContext, ref: string, node: NodeProc, file: RandomFile): Promise<void> {
  const out = join(ctx.workDir, `link-get-${Date.now()}.bin`)
  await ctx.runCli(['get', ref, '-o', out, '--data', node.dataDir])
  if (await sha256File(out) !== file.sha256) throw new Error('a get returned different bytes')
  await rm(out, { force: true })
}

async function clusterRound (ctx: BenchContext, file: RandomFile): Promise<ClusterRound> {
  const single = await ctx.startNode({ args: ['--replicas', '1'] })
  const singlePut = await measured([single], async () => await ctx.runCli(['put', file.path, '--name', 'one.bin', '--json', '--data', single.dataDir]))
  const singleGet = await measured([single], async () => { await getChecked(ctx, 'one.bin', single, file) })
  await single.stop()

  const a = await joinNode(ctx)
  const b = await joinNode(ctx, a)
  const c = await joinNode(ctx, a)
  const all = [a, b, c]
  try {
    await waitForPeers(ctx, all, 2)
    const gcBefore = await Promise.all([b, c].map(majorGcs))
    const sentBefore = await sentToPeers(a)
    const peaks = all.map(n => n.sampleRss(100))
    const put3 = await measured(all, async () => {
      const put = await ctx.runCli(['put', file.path, '--name', 'three.bin', '--json', '--data', a.dataDir])
      const stored = JSON.parse(put.stdout.trim()) as { replicas: number }
      if (stored.replicas !== 3) throw new Error(`put reached ${stored.replicas} copies, expected 3`)
    })
    const put3PeakRssBytes = Math.max(...peaks.map(stop => stop()))
    const put3OwnerSentBytes = (await sentToPeers(a)) - sentBefore
    const gcAfter = await Promise.all([b, c].map(majorGcs))
    const cap = (await ctx.runCli(['share', 'three.bin', '--data', a.dataDir])).stdout.trim()
    const d = await joinNode(ctx, a)
    try {
      await waitForPeers(ctx, [d], 3)
      const capGet = await measured([...all, d], async () => { await getChecked(ctx, cap, d, file) })
      return {
        singlePutSeconds: singlePut.seconds,
        singleGetSeconds: singleGet.seconds,
        singlePutCpu: singlePut.cpu,
        singleGetCpu: singleGet.cpu,
        put3Seconds: put3.seconds,
        put3Cpu: put3.cpu,
        holderMajorGcs: gcAfter.map((n, i) => n - gcBefore[i]),
        capGetSeconds: capGet.seconds,
        capGetCpu: capGet.cpu,
        put3OwnerSentBytes,
        put3PeakRssBytes
      }
    } finally {
      await d.stop()
    }
  } finally {
    await Promise.all(all.map(async n => await n.stop()))
  }
}

export default async function link (ctx: BenchContext): Promise<Record<string, number>> {
  const streams: Array<{ tcp: number, tls: number, stack: number }> = []
  for (let i = 0; i < ctx.options.repeat; i++) {
    ctx.log(`link streams round ${i + 1}/${ctx.options.repeat}`)
    streams.push({ tcp: await benchTcp(), tls: await benchTls(), stack: await benchLibp2pStream() })
  }
  const file = await ctx.randomFile(ctx.options.fileBytes, 17)
  const rounds: ClusterRound[] = []
  for (let i = 0; i < ctx.options.repeat; i++) {
    ctx.log(`link cluster round ${i + 1}/${ctx.options.repeat}`)
    rounds.push(await clusterRound(ctx, file))
  }
  const gbs = file.bytes / GB
  const tcp = max(streams.map(s => s.tcp))
  const stack = max(streams.map(s => s.stack))
  const singlePut = max(rounds.map(r => mbps(file.bytes, r.singlePutSeconds)))
  const singleGet = max(rounds.map(r => mbps(file.bytes, r.singleGetSeconds)))
  const put3 = max(rounds.map(r => mbps(file.bytes, r.put3Seconds)))
  const capGet = max(rounds.map(r => mbps(file.bytes, r.capGetSeconds)))
  const per256MiB = file.bytes / (256 * MiB)
  return {
    tcp_MBps: tcp,
    tls_MBps: max(streams.map(s => s.tls)),
    stack_MBps: stack,
    stack_to_tcp_ratio: stack / tcp,
    tls_to_tcp_ratio: max(streams.map(s => s.tls)) / tcp,
    single_put_MBps: singlePut,
    single_get_MBps: singleGet,
    put3_MBps: put3,
    put3_to_single_put_ratio: put3 / singlePut,
    capget_MBps: capGet,
    capget_to_single_get_ratio: capGet / singleGet,
    // CPU: the least of the rounds (the least disturbed by the other tenants of the machine).
    single_put_cpu_s_per_GB: min(rounds.map(r => r.singlePutCpu / gbs)),
    single_get_cpu_s_per_GB: min(rounds.map(r => r.singleGetCpu / gbs)),
    put3_cpu_s_per_GB: min(rounds.map(r => r.put3Cpu / gbs)),
    put3_cpu_to_single_put_cpu: min(rounds.map(r => r.put3Cpu / r.singlePutCpu)),
    capget_cpu_s_per_GB: min(rounds.map(r => r.capGetCpu / gbs)),
    capget_cpu_to_single_get_cpu: min(rounds.map(r => r.capGetCpu / r.singleGetCpu)),
    holder_full_gcs_per_256MiB: median(rounds.flatMap(r => r.holderMajorGcs)) / per256MiB,
    // Chained replication: fan-out sends ~2 bytes per byte put with 3 copies, a chain ~1.
    put3_owner_sent_per_byte: median(rounds.map(r => r.put3OwnerSentBytes / file.bytes)),
    put3_peak_rss_MiB: max(rounds.map(r => r.put3PeakRssBytes)) / MiB
  }
}
