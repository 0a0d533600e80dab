// Scale run (issue 16): N nodes (default 200) with the DHT overlay on this machine, spread over a
// few processes (bench/lib/scale-child.ts), joined from ONE bootstrap node. Measures: time until
// every node can route to others (each node finds a random other through the DHT and pings it,
// every node a target once per round), connections and routing-table sizes, gossip broadcast
// coverage, latency and copies received per node, a 3-copy put placed by XOR distance and a read by
// capability (owner + blob ID) that finds holders through provider records, an owner that lost its
// disk finding every holder, how many nodes each lookup asked, and memory per node.
// Runs only when named: `npm run bench -- scale` (env BENCH_SCALE_NODES, BENCH_SCALE_PROCS,
// BENCH_SCALE_MAX_CONNECTIONS, BENCH_SCALE_ROUTE_CONCURRENCY: lookups in flight across the bench).

import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { generateNetworkKey } from '../src/net/index.ts'
import type { BenchContext, Target } from './lib/types.ts'

export const title = 'scale: a network of 200 nodes on the DHT, gossip and provider records (issue 16)'

export const targets: Record<string, Target> = {
  broadcastCoverage: { min: 1, note: 'every node got every message to all' },
  getOk: { min: 1, note: 'a capability read found a holder through the DHT' },
  recovered: { min: 1, note: 'the owner got every blob back (fraction)' }
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'lib', 'scale-child.ts')

class Child {
  readonly proc: ChildProcess
  private seq = 1
  private readonly waiting = new Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>()
  readonly ready: Promise<void>
  /** Global indexes of the nodes this child hosts, in its local order. */
  readonly hosted: number[] = []

  constructor () {
    this.proc = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=4096'] })
    let onReady: () => void
    this.ready = new Promise(resolve => { onReady = resolve })
    this.proc.on('message', (msg: { seq: number, ok: boolean, value?: unknown, error?: string }) => {
      if (msg.seq === 0) { onReady(); return }
      const w = this.waiting.get(msg.seq)
      this.waiting.delete(msg.seq)
      if (msg.ok) w?.resolve(msg.value)
      else w?.reject(new Error(msg.error))
    })
    this.proc.on('exit', code => {
      for (const w of this.waiting.values()) w.reject(new Error(`scale child exited with ${code}`))
      this.waiting.clear()
    })
  }

  async call<T = any> (cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const seq = this.seq++
    return await new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject })
      this.proc.send({ seq, cmd, ...args })
    })
  }
}

interface NodeRef { id: string, addr: string, child: Child, local: number }

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]
}

function shuffle<T> (xs: T[]): T[] {
  const a = [...xs]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

async function until (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await check()) return Date.now() - started
    if (Date.now() - started > timeoutMs) throw new Error(`scale: timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

type RouteFailure = { error: string, stage: string, ms: number, lagMs: number, mode: string, connections: number, connectedToTarget: boolean, rt: string[] }
type RouteResult = number | RouteFailure
interface NodeTable { id: string, running: boolean, mode: string, rt: string[], connections: number }

/** What one failed lookup's source and target knew (tables read right after the round). */
interface FailureFacts {
  kind: string
  ms: number
  /** The source's process had its timers held up this long at worst during the lookup. */
  lagMs: number
  srcMode: string
  srcRtSize: number
  srcConnections: number
  /** The target was in the source's routing table when the lookup failed. */
  targetInSrcRt: boolean
  /** How many of the target's 20 XOR-nearest running nodes the source's table held. */
  nearestInSrcRt: number
  targetMode: string
  targetRtSize: number
  targetConnections: number
  /** How many nodes' routing tables held the target. */
  targetKnownBy: number
}

const kadIds = new Map<string, bigint>()
function kadId (nodeId: string): bigint {
  let id = kadIds.get(nodeId)
  if (id == null) {
    id = BigInt('0x' + createHash('sha256').update(peerIdFromString(nodeId).toMultihash().bytes).digest('hex'))
    kadIds.set(nodeId, id)
  }
  return id
}

function failureFacts (src: NodeRef, dst: NodeRef, r: RouteFailure, tables: NodeTable[]): FailureFacts {
  const target = tables.find(t => t.id === dst.id)
  const running = tables.filter(t => t.running && t.id !== dst.id)
  const t = kadId(dst.id)
  const nearest = running.map(n => ({ id: n.id, d: kadId(n.id) ^ t })).sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0)).slice(0, 20).map(n => n.id)
  const srcRt = new Set(r.rt)
  return {
    kind: `${r.error.split(':')[0]}@${r.stage}`,
    ms: r.ms,
    lagMs: r.lagMs,
    srcMode: r.mode,
    srcRtSize: r.rt.length,
    srcConnections: r.connections,
    targetInSrcRt: srcRt.has(dst.id),
    nearestInSrcRt: nearest.filter(id => srcRt.has(id)).length,
    targetMode: target?.mode ?? 'unknown',
    targetRtSize: target?.rt.length ?? 0,
    targetConnections: target?.connections ?? 0,
    targetKnownBy: tables.filter(n => n.rt.includes(dst.id)).length
  }
}

function describeFailures (fs: FailureFacts[]): string {
  const count = (pred: (f: FailureFacts) => boolean): number => fs.filter(pred).length
  const kinds = new Map<string, number>()
  for (const f of fs) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1)
  return `kinds ${JSON.stringify(Object.fromEntries(kinds))}, median ${(median(fs.map(f => f.ms)) / 1000).toFixed(1)} s to fail; ` +
    `source's event loop held up during the lookup ≥ 1 s ${count(f => f.lagMs >= 1_000)}, ≥ 5 s ${count(f => f.lagMs >= 5_000)} (median ${(median(fs.map(f => f.lagMs)) / 1000).toFixed(1)} s); ` +
    `source: DHT mode client ${count(f => f.srcMode !== 'server')}, table median ${median(fs.map(f => f.srcRtSize))} (min ${Math.min(...fs.map(f => f.srcRtSize))}), connections median ${median(fs.map(f => f.srcConnections))}, ` +
    `held the target ${count(f => f.targetInSrcRt)}, held ≥1 of its 20 nearest ${count(f => f.nearestInSrcRt > 0)} (median ${median(fs.map(f => f.nearestInSrcRt))}); ` +
    `target: DHT mode client ${count(f => f.targetMode !== 'server')}, table median ${median(fs.map(f => f.targetRtSize))}, connections median ${median(fs.map(f => f.targetConnections))}, in nobody's table ${count(f => f.targetKnownBy === 0)}, in tables median ${median(fs.map(f => f.targetKnownBy))}`
}

/** Runs `fn` over `items`, at most `limit` at a time; results in the items' order. */
async function inPool<T, R> (items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }))
  return out
}

/** CPU-seconds used so far by the children (user + system). */
async function childrenCpu (children: Child[]): Promise<number> {
  const all = await Promise.all(children.map(async c => await c.call<{ cpuUser: number, cpuSystem: number }>('stats')))
  return all.reduce((sum, s) => sum + (s.cpuUser + s.cpuSystem) / 1e6, 0)
}

/** The longest any child's timers were held up in the last minute. */
async function childrenLoopLag (children: Child[]): Promise<number> {
  const all = await Promise.all(children.map(async c => await c.call<{ loopLagMaxMs: number }>('stats')))
  return Math.max(0, ...all.map(s => s.loopLagMaxMs))
}

export default async function scaleSection (ctx: BenchContext): Promise<Record<string, number>> {
  if (!process.argv.includes('scale') && process.env.BENCH_SCALE !== '1') {
    ctx.log('scale: skipped (heavy; run it by name: npm run bench -- scale)')
    return {}
  }
  const total = Number(process.env.BENCH_SCALE_NODES ?? 200)
  const procs = Number(process.env.BENCH_SCALE_PROCS ?? 4)
  const maxConnections = Number(process.env.BENCH_SCALE_MAX_CONNECTIONS ?? 32)
  const loadBefore = loadavg()[0]
  const children = Array.from({ length: procs }, () => new Child())
  ctx.onCleanup(async () => {
    await Promise.race([Promise.allSettled(children.map(async c => await c.call('stopAll'))), new Promise(resolve => setTimeout(resolve, 20_000))])
    for (const c of children) c.proc.kill('SIGKILL')
  })
  await Promise.all(children.map(async c => await c.ready))
  const baseline = await Promise.all(children.map(async c => (await c.call<{ rss: number }>('stats')).rss))
  const networkKey = Buffer.from(generateNetworkKey()).toString('hex')
  const nodes: NodeRef[] = []
  const add = (child: Child, started: Array<{ id: string, addr: string }>): void => {
    for (const s of started) {
      child.hosted.push(nodes.length)
      nodes.push({ ...s, child, local: child.hosted.length - 1 })
    }
  }

  // The one bootstrap node: sized for everyone's first connection (the others keep `maxConnections`).
  const joinStarted = Date.now()
  add(children[0], await children[0].call('start', { networkKey, count: 1, bootstrap: [], maxConnections: total + 16 }))
  const bootstrap = [nodes[0].addr]
  ctx.log(`scale: bootstrap ${nodes[0].addr}; starting ${total - 1} nodes in ${procs} processes`)
  const share = (i: number): number => Math.floor((total - 1) / procs) + (i < (total - 1) % procs ? 1 : 0)
  const started = await Promise.all(children.map(async (c, i) => await c.call<Array<{ id: string, addr: string }>>('start', { networkKey, count: share(i), bootstrap, maxConnections })))
  started.forEach((s, i) => add(children[i], s))
  const allStartedMs = Date.now() - joinStarted
  ctx.log(`scale: ${nodes.length} nodes started in ${allStartedMs} ms`)

  const stats = async (): Promise<{ rss: number[], nodes: Array<{ id: string, running: boolean, connections: number, routingTable: number, mesh: number, wireCopies: number, hangUps: number, disconnects: number }> }> => {
    const all = await Promise.all(children.map(async c => await c.call('stats')))
    return { rss: all.map(s => s.rss), nodes: all.flatMap(s => s.nodes) }
  }
  // Routing: rounds until every node found its (random, distinct) target and pinged it. At most
  // BENCH_SCALE_ROUTE_CONCURRENCY lookups in flight across the whole bench (default 16; 0 = all at
  // once, as in session 5): 200 Kademlia lookups at once on 2 cores starve each other past any
  // deadline, which measures the CPU, not the routing.
  const routeConcurrency = Number(process.env.BENCH_SCALE_ROUTE_CONCURRENCY ?? 16)
  // Done when every node has found and pinged a random other (as a source) and been found and
  // pinged by one (as a target), over as many rounds as that takes.
  let rounds = 0
  const routeTimes: number[] = []
  let lastRoundOk = 0
  const sourcesOk = new Set<NodeRef>()
  const targetsOk = new Set<NodeRef>()
  const errors = new Map<string, number>()
  const failures: FailureFacts[] = []
  const routeAllMs = await until('every node to route to another and be routed to', 600_000, async () => {
    rounds++
    const roundStarted = Date.now()
    const cpuBefore = await childrenCpu(children)
    const targetsOf = shuffle(nodes)
    const pairs: Array<[NodeRef, NodeRef]> = nodes.map((n, i) => [n, targetsOf[i] === n ? targetsOf[(i + 1) % nodes.length] : targetsOf[i]])
    const results = await inPool(pairs, routeConcurrency === 0 ? pairs.length : routeConcurrency, async ([src, dst]) => {
      const [r] = await src.child.call<RouteResult[]>('route', { pairs: [[src.local, dst.id]] })
      return { src, dst, r }
    })
    const failed: Array<{ src: NodeRef, dst: NodeRef, r: RouteFailure }> = []
    for (const { src, dst, r } of results) {
      if (typeof r === 'number') { sourcesOk.add(src); targetsOk.add(dst); routeTimes.push(r) } else {
        const why = `${r.error.split(':')[0]}@${r.stage}`
        errors.set(why, (errors.get(why) ?? 0) + 1)
        failed.push({ src, dst, r })
      }
    }
    lastRoundOk = results.filter(o => typeof o.r === 'number').length / results.length
    const cpu = (await childrenCpu(children)) - cpuBefore
    // What the sources and targets of the failures knew, weighed against every node's table now.
    if (failed.length > 0) {
      const tables = (await Promise.all(children.map(async c => await c.call<NodeTable[]>('tables')))).flat()
      failures.push(...failed.map(f => failureFacts(f.src, f.dst, f.r, tables)))
    }
    const recent = failures.slice(-failed.length)
    const lag = await childrenLoopLag(children)
    const churn = (await stats()).nodes
    const line = `round ${rounds}: ${Math.round(lastRoundOk * 100)}% ok in ${((Date.now() - roundStarted) / 1000).toFixed(1)} s, ${cpu.toFixed(0)} CPU-s, event loop held up to ${lag} ms in the last minute, hang-ups so far median ${median(churn.map(n => n.hangUps))} per node, load ${loadavg()[0].toFixed(1)}; ${sourcesOk.size} sources and ${targetsOk.size} targets done; errors so far ${JSON.stringify(Object.fromEntries(errors))}` +
      (failed.length === 0 ? '' : `; at this round's ${failed.length} failures: ${describeFailures(recent)}`)
    ctx.log(`scale: routing ${line}`)
    return sourcesOk.size === nodes.length && targetsOk.size === nodes.length
  }).then(ms => ms + allStartedMs, (err: Error) => {
    // Unattended runs go on to the other figures: routeAllMs -1 says routing did not converge.
    ctx.log(`scale: ${err.message}; going on with the other figures (routeAllMs = -1)`)
    return -1
  })
  if (failures.length > 0) ctx.log(`scale: all ${failures.length} failed lookups: ${describeFailures(failures)}`)
  const churn = (await stats()).nodes
  ctx.log(`scale: after routing, per node: connections median ${median(churn.map(n => n.connections))}, disconnects median ${median(churn.map(n => n.disconnects))} (max ${Math.max(...churn.map(n => n.disconnects))}), hang-ups median ${median(churn.map(n => n.hangUps))} (max ${Math.max(...churn.map(n => n.hangUps))})`)

  ctx.log(`scale: routing done in ${routeAllMs} ms (${rounds} rounds); waiting for gossip meshes (load ${loadavg()[0].toFixed(1)})`)
  await until('gossip meshes to form', 60_000, async () => median((await stats()).nodes.map(n => n.mesh)) >= 4)
    .catch((err: Error) => { ctx.log(`scale: ${err.message}; broadcasting anyway`) })

  // Broadcasts from three random nodes.
  const before = await stats()
  const broadcasts = 3
  const coverage: number[] = []
  const latencies: number[] = []
  for (let b = 0; b < broadcasts; b++) {
    const from = nodes[1 + Math.floor(Math.random() * (nodes.length - 1))]
    const sent = await from.child.call<{ id: string, at: number }>('broadcast', { index: from.local, text: `scale broadcast ${b}` })
    let got: Array<number | null> = []
    await until(`broadcast ${b} to reach every node`, 30_000, async () => {
      got = (await Promise.all(children.map(async c => await c.call<Array<number | null>>('received', { id: sent.id })))).flat()
      return got.filter(v => v != null).length >= nodes.length - 1
    }).catch(() => {})
    const arrived = got.filter((v): v is number => v != null)
    coverage.push(arrived.length / (nodes.length - 1))
    latencies.push(...arrived.map(at => at - sent.at))
  }
  ctx.log(`scale: broadcasts reached ${coverage.map(c => `${Math.round(c * 100)}%`).join(', ')} of the nodes; putting 8 blobs × 3 copies`)
  const after = await stats()
  const copies = after.nodes.map((n, i) => (n.wireCopies - before.nodes[i].wireCopies) / broadcasts)

  // A 3-copy put by one owner, read by capability elsewhere; then the owner loses its disk.
  const owner = nodes[1 + Math.floor(Math.random() * (nodes.length - 1))]
  const blobIds: string[] = []
  const puts: Array<{ stored: number, ms: number, contacted: number }> = []
  for (let i = 0; i < 8; i++) {
    const put = await owner.child.call('put', { index: owner.local, replicas: 3, bytes: 64 * 1024 })
    blobIds.push(put.id)
    puts.push(put)
  }
  const reader = nodes.find(n => n.child !== owner.child && n !== nodes[0]) ?? nodes[nodes.length - 1]
  let get: { ok: boolean, holders: number, contacted: number, ms: number } = { ok: false, holders: 0, contacted: 0, ms: 0 }
  await until('a capability read to find a holder', 60_000, async () => {
    get = await reader.child.call('get', { index: reader.local, owner: owner.id, id: blobIds[0] })
    return get.ok
  }).catch(() => {})
  ctx.log(`scale: capability read ${get.ok ? 'found' : 'did NOT find'} a holder (${get.contacted} nodes asked); the owner loses its disk`)
  const ownerKey = await owner.child.call<string>('exportKey', { index: owner.local })
  await owner.child.call('stopNode', { index: owner.local })
  const restoreChild = children.find(c => c !== owner.child) ?? owner.child
  add(restoreChild, await restoreChild.call('start', { networkKey, count: 1, bootstrap, maxConnections, privateKeys: [ownerKey] }))
  const restored = nodes[nodes.length - 1]
  let recover: { recovered: number, holders: string[], contacted: number, ms: number } = { recovered: 0, holders: [], contacted: 0, ms: 0 }
  await until('the restored owner to get every blob back', 120_000, async () => {
    recover = await restored.child.call('recover', { index: restored.local, ids: blobIds })
    return recover.recovered === blobIds.length
  }).catch(() => {})

  ctx.log(`scale: the restored owner got ${recover.recovered}/${blobIds.length} blobs back from ${recover.holders.length} holders (${recover.contacted} nodes asked)`)
  const final = await stats()
  const others = final.nodes.filter((n, i) => i !== 0 && n.running)
  const conns = others.map(n => n.connections)
  const rssTotal = final.rss.reduce((a, b) => a + b, 0) - baseline.reduce((a, b) => a + b, 0)
  const result = {
    nodes: nodes.length - 1,
    processes: procs,
    maxConnectionsFlag: maxConnections,
    startAllMs: allStartedMs,
    routeAllMs,
    routeRounds: rounds,
    routeLastRoundOk: Math.round(lastRoundOk * 100) / 100,
    routeP50Ms: median(routeTimes),
    routeConcurrency,
    routeFailures: failures.length,
    routeFailuresTargetInSourceTable: failures.filter(f => f.targetInSrcRt).length,
    routeFailuresTargetClientMode: failures.filter(f => f.targetMode !== 'server').length,
    routeFailuresTargetInNoTable: failures.filter(f => f.targetKnownBy === 0).length,
    routeFailuresStarved1s: failures.filter(f => f.lagMs >= 1_000).length,
    connectionsMax: Math.max(...conns),
    connectionsMedian: median(conns),
    bootstrapConnections: final.nodes[0].connections,
    routingTableMedian: median(others.map(n => n.routingTable)),
    meshMedian: median(others.map(n => n.mesh)),
    broadcastCoverage: Math.min(...coverage),
    broadcastP50Ms: median(latencies),
    broadcastMaxMs: Math.max(0, ...latencies),
    copiesPerNodePerBroadcastMedian: median(copies.slice(1)),
    copiesPerNodePerBroadcastMax: Math.max(...copies),
    putStoredCopies: Math.min(...puts.map(p => p.stored)) + 1,
    putMsMedian: median(puts.map(p => p.ms)),
    putContacted: median(puts.map(p => p.contacted)),
    getOk: get.ok ? 1 : 0,
    getMs: get.ms,
    getContacted: get.contacted,
    recovered: recover.recovered / blobIds.length,
    recoverHolders: recover.holders.length,
    recoverContacted: recover.contacted,
    recoverMs: recover.ms,
    rssPerNodeMiB: Math.round(rssTotal / nodes.length / 2 ** 20 * 10) / 10,
    loadBefore: Math.round(loadBefore * 100) / 100,
    loadAfter: Math.round(loadavg()[0] * 100) / 100
  }
  ctx.table('scale (issue 16)', ['metric', 'value'], Object.entries(result).map(([k, v]) => [k, v]))
  return result
}
