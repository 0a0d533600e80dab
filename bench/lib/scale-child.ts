// One process of the scale run (bench/scale.ts): hosts many nodes' networks (the real Network with
// the DHT overlay, DhtRouting and a Messenger broadcasting over gossipsub, each on its own
// in-memory SQLite), and answers the parent's commands over IPC. Blobs are held in memory by a
// small bench protocol: the run measures routing (who to store on, who holds what), not disks.

import { createHash, randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { DatabaseSync } from 'node:sqlite'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { pino } from 'pino'
import { z } from 'zod'
import { createNetwork, DEFAULT_OVERLAY, DhtRouting, type Network } from '../../src/net/index.ts'
import { createMessenger, type Messenger } from '../../src/messaging/index.ts'
import { migrateCatalog } from '../../src/catalog/index.ts'
import { maxLoopLagSince } from '../../src/net/loop-lag.ts'
import { FrameStream, handleProtocol, requestJson, GOSSIP_MESSAGES_TOPIC } from '../../src/protocols/index.ts'

const BLOB_PROTOCOL = '/distri-vault-bench/blob/1'
const MAX_FRAME = 256 * 1024
const BlobFrame = z.object({ op: z.enum(['put', 'get']), owner: z.string().max(128), id: z.string().max(128), data: z.string().max(200_000).optional() })
const BlobReply = z.object({ ok: z.boolean(), data: z.string().optional() })

interface Hosted {
  privateKeyHex: string
  network: Network
  routing: DhtRouting
  messenger: Messenger
  blobs: Map<string, string>
  /** Envelope id → when it arrived here. */
  received: Map<string, number>
  /** Gossip frames that reached this node on our message topic, duplicates included. */
  wireCopies: number
  /** Peers this node hung up on (libp2p.hangUp: the latency probe after missed pings, and others). */
  hangUps: number
}

const log = pino({ level: process.env.BENCH_SCALE_LOG ?? 'silent' })
const nodes: Hosted[] = []
let networkKey: Uint8Array

async function startNode (bootstrap: string[], maxConnections: number, privateKeyHex?: string): Promise<{ id: string, addr: string }> {
  const privateKey = privateKeyHex != null ? privateKeyFromProtobuf(Buffer.from(privateKeyHex, 'hex')) : await generateKeyPair('Ed25519')
  const network = createNetwork({
    privateKey, networkKey, listen: '127.0.0.1:0', bootstrap, mdns: false, log,
    overlay: { ...DEFAULT_OVERLAY },
    // Every node shares one IP here: the per-IP handshake queue must not turn members away.
    // On a shared 2-core machine a process hosting 50 nodes gets a sliver of a core: handshakes
    // need far longer than the 5 s a real node allows.
    limits: { maxConnections, queuedHandshakesPerHost: 4096, handshakesPerHost: 64, maxPendingInbound: 512, handshakeTimeoutMs: 30_000 }
  })
  await network.start()
  const routing = new DhtRouting({ libp2p: network.libp2p, log, queryTimeoutMs: 30_000, retryProvideMs: 2_000 })
  routing.start()
  // The messenger keeps its log and outbox in the catalog's tables: an in-memory catalog per node.
  const db = new DatabaseSync(':memory:')
  migrateCatalog(db)
  const messenger = createMessenger({ network, db, privateKey, log, broadcast: 'gossip' })
  await messenger.start()
  const hosted: Hosted = { privateKeyHex: Buffer.from(privateKeyToProtobuf(privateKey)).toString('hex'), network, routing, messenger, blobs: new Map(), received: new Map(), wireCopies: 0, hangUps: 0 }
  const hangUp = network.libp2p.hangUp.bind(network.libp2p)
  network.libp2p.hangUp = async (...args: Parameters<typeof hangUp>) => { hosted.hangUps++; await hangUp(...args) }
  messenger.subscribe(m => { hosted.received.set(m.id, Date.now()) })
  countWireCopies(hosted)
  await handleProtocol(network.libp2p, BLOB_PROTOCOL, async (stream) => {
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_FRAME })
    const signal = AbortSignal.timeout(10_000)
    const req = await frames.readJson(BlobFrame, { signal })
    const key = `${req.owner}/${req.id}`
    if (req.op === 'put' && req.data != null) {
      hosted.blobs.set(key, req.data)
      void routing.provideOwner(req.owner).catch(() => {})
      await frames.writeJson({ ok: true }, { signal })
    } else {
      const data = hosted.blobs.get(key)
      await frames.writeJson(data == null ? { ok: false } : { ok: true, data }, { signal })
    }
    await frames.close({ signal })
  }, { log, maxInboundStreams: 16, maxOutboundStreams: 16, inactivityTimeoutMs: 10_000 })
  nodes.push(hosted)
  return { id: network.nodeId, addr: network.addresses().find(a => a.includes('/127.0.0.1/')) ?? network.addresses()[0] }
}

/** Gossipsub drops duplicates before any validator or event: count them at its entry instead. */
function countWireCopies (hosted: Hosted): void {
  const pubsub = hosted.network.libp2p.services.pubsub as unknown as { handleReceivedMessage: (from: unknown, msg: { topic: string }) => Promise<void> }
  const original = pubsub.handleReceivedMessage.bind(pubsub)
  pubsub.handleReceivedMessage = async (from, msg) => {
    if (msg.topic === GOSSIP_MESSAGES_TOPIC) hosted.wireCopies++
    await original(from, msg)
  }
}

/** One request; again on a fresh connection when the one we got was closed under us (a node
 * over its connection bound trims idle connections, and this one may have looked idle). */
async function blobRequest (from: Hosted, to: string, frame: z.infer<typeof BlobFrame>): Promise<z.infer<typeof BlobReply>> {
  for (let attempt = 1; ; attempt++) {
    try {
      const connection = await from.network.libp2p.dial(peerIdFromString(to), { signal: AbortSignal.timeout(15_000) })
      return await requestJson(connection, BLOB_PROTOCOL, frame, BlobReply, { maxFrameBytes: MAX_FRAME, timeoutMs: 15_000 })
    } catch (err) {
      if (attempt >= 3) throw err
    }
  }
}

interface DhtInternals {
  getMode: () => 'client' | 'server'
  routingTable?: { size: number, kb?: { toIterable: () => Iterable<{ peerId: { toString: () => string } }> } }
}

function dhtOf (node: Hosted): DhtInternals | undefined {
  return node.network.libp2p.services.dht as unknown as DhtInternals | undefined
}

function routingTableIds (node: Hosted): string[] {
  const kb = dhtOf(node)?.routingTable?.kb
  return kb == null ? [] : [...kb.toIterable()].map(c => c.peerId.toString())
}

const handlers: Record<string, (msg: any) => Promise<unknown>> = {
  async start (msg) {
    networkKey = Buffer.from(msg.networkKey, 'hex')
    const out: Array<{ id: string, addr: string }> = []
    // A few joins at a time per process (BENCH_SCALE_JOIN_BATCH, default 4): the next batch starts
    // once this one reached the bootstrap, so a starved CPU is not handed 50 handshakes at once.
    const batch = Math.max(1, Number(process.env.BENCH_SCALE_JOIN_BATCH ?? 4))
    const joinStarted = Date.now()
    for (let i = 0; i < msg.count; i += batch) {
      const keys = Array.from({ length: Math.min(batch, msg.count - i) }, (_, k) => msg.privateKeys?.[i + k] as string | undefined)
      const started = await Promise.all(keys.map(async key => await startNode(msg.bootstrap, msg.maxConnections, key)))
      out.push(...started)
      const joined = nodes.slice(-started.length)
      const deadline = Date.now() + 60_000
      while (msg.bootstrap.length > 0 && joined.some(n => n.network.peers().length === 0) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
      // A progress line every ten nodes: a 200-node join on a slow machine takes minutes.
      const done = Math.min(i + batch, msg.count)
      if (msg.count > batch && (done % 10 < batch || done === msg.count)) {
        process.stderr.write(`scale child ${process.pid}: ${done}/${msg.count} nodes joined (${Math.round((Date.now() - joinStarted) / 1000)} s, load ${loadavg()[0].toFixed(1)})\n`)
      }
    }
    return out
  },
  async exportKey (msg) {
    return nodes[msg.index].privateKeyHex
  },
  async route (msg) {
    // [local index, target node ID]: find the target through the DHT and open a connection to it.
    // A failure comes back with what the source knew then: its routing table (node IDs), its DHT
    // mode and connections, and whether the target was in its peer store (bench/scale.ts weighs it).
    const results = await Promise.all((msg.pairs as Array<[number, string]>).map(async ([i, target]) => {
      const started = Date.now()
      const node = nodes[i]
      const targetId = peerIdFromString(target)
      const stage = { now: 'findPeer' }
      try {
        await node.network.libp2p.peerRouting.findPeer(targetId, { signal: AbortSignal.timeout(20_000) })
        stage.now = 'ping'
        await node.network.libp2p.services.ping.ping(targetId, { signal: AbortSignal.timeout(10_000) })
        return Date.now() - started
      } catch (err) {
        // Not always an Error: an aborted signal's reason may be anything.
        const e = err as { name?: unknown, message?: unknown } | undefined
        const dht = dhtOf(node)
        return {
          error: `${String(e?.name ?? 'Error')}: ${String(e?.message ?? err).slice(0, 80)}`,
          stage: stage.now,
          ms: Date.now() - started,
          /** How long this process's timers were held up at worst during the lookup. */
          lagMs: maxLoopLagSince(started),
          mode: dht?.getMode() ?? 'none',
          connections: node.network.libp2p.getConnections().length,
          connectedToTarget: node.network.libp2p.getConnections(targetId).length > 0,
          rt: routingTableIds(node)
        }
      }
    }))
    return results
  },
  /** Each node's DHT mode and routing table (node IDs), to weigh failed lookups against. */
  async tables () {
    return nodes.map(n => {
      const running = n.network.addresses().length > 0
      return { id: n.network.nodeId, running, mode: running ? dhtOf(n)?.getMode() ?? 'none' : 'stopped', rt: running ? routingTableIds(n) : [], connections: running ? n.network.libp2p.getConnections().length : 0 }
    })
  },
  async stats () {
    const mem = process.memoryUsage()
    const cpu = process.cpuUsage()
    return {
      rss: mem.rss,
      cpuUser: cpu.user,
      cpuSystem: cpu.system,
      /** The longest this process's timers were held up in the last minute (starvation). */
      loopLagMaxMs: maxLoopLagSince(Date.now() - 60_000),
      heapUsed: mem.heapUsed,
      nodes: nodes.map(n => ({
        id: n.network.nodeId,
        running: n.network.addresses().length > 0,
        connections: n.network.addresses().length > 0 ? n.network.libp2p.getConnections().length : 0,
        routingTable: n.network.addresses().length === 0 ? 0 : (n.network.libp2p.services.dht as unknown as { routingTable?: { size: number } } | undefined)?.routingTable?.size ?? 0,
        mesh: n.network.addresses().length > 0 ? (n.network.libp2p.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(GOSSIP_MESSAGES_TOPIC).length : 0,
        wireCopies: n.wireCopies,
        hangUps: n.hangUps,
        disconnects: n.network.stats().disconnects
      }))
    }
  },
  async broadcast (msg) {
    const result = await nodes[msg.index].messenger.broadcast(msg.text)
    return { id: result.id, at: Date.now(), directRecipients: result.deliveredTo }
  },
  async received (msg) {
    return nodes.map(n => n.received.get(msg.id) ?? null)
  },
  async put (msg) {
    // The owner keeps its own copy; replicas-1 more go to the peers nearest to the blob's key.
    const owner = nodes[msg.index]
    const data = randomBytes(msg.bytes).toString('base64')
    const id = createHash('sha256').update(data).digest('hex')
    owner.blobs.set(`${owner.network.nodeId}/${id}`, data)
    const started = Date.now()
    // Nearest first; a candidate that does not answer is passed over for the next one.
    const candidates = await owner.routing.closestPeers(Buffer.from(id, 'hex'), msg.replicas + 3)
    const contacted = owner.routing.lastQuery.contacted
    const holders: string[] = []
    for (const candidate of candidates) {
      if (holders.length >= msg.replicas - 1) break
      const ok = await blobRequest(owner, candidate.toString(), { op: 'put', owner: owner.network.nodeId, id, data }).then(r => r.ok, () => false)
      if (ok) holders.push(candidate.toString())
    }
    return { id, sha256: id, holders, stored: holders.length, ms: Date.now() - started, contacted }
  },
  /** Reads blob `id` of `owner` knowing nothing but the capability (owner + id): holders through the DHT. */
  async get (msg) {
    const reader = nodes[msg.index]
    const started = Date.now()
    const holders = await reader.routing.holdersOf(msg.owner)
    const contacted = reader.routing.lastQuery.contacted
    for (const holder of holders) {
      const reply = await blobRequest(reader, holder.toString(), { op: 'get', owner: msg.owner, id: msg.id }).catch(() => ({ ok: false, data: undefined }))
      if (reply.ok && reply.data != null) {
        const ok = createHash('sha256').update(reply.data).digest('hex') === msg.id
        return { ok, holders: holders.length, contacted, ms: Date.now() - started }
      }
    }
    return { ok: false, holders: holders.length, contacted, ms: Date.now() - started }
  },
  /** An owner whose disk died: holders of its folder through the DHT, then every blob back. */
  async recover (msg) {
    const node = nodes[msg.index]
    const started = Date.now()
    const holders = await node.routing.holdersOf(node.network.nodeId)
    const contacted = node.routing.lastQuery.contacted
    const got = new Set<string>()
    for (const id of msg.ids as string[]) {
      for (const holder of holders) {
        const reply = await blobRequest(node, holder.toString(), { op: 'get', owner: node.network.nodeId, id }).catch(() => ({ ok: false, data: undefined }))
        if (reply.ok && reply.data != null && createHash('sha256').update(reply.data).digest('hex') === id) { got.add(id); break }
      }
    }
    return { recovered: got.size, holders: holders.map(String), contacted, ms: Date.now() - started }
  },
  async stopNode (msg) {
    const n = nodes[msg.index]
    await n.messenger.stop()
    n.routing.stop()
    await n.network.stop()
    return true
  },
  async stopAll () {
    await Promise.allSettled(nodes.map(async n => { await n.messenger.stop(); n.routing.stop(); await n.network.stop() }))
    return true
  }
}

process.on('message', (msg: { seq: number, cmd: string }) => {
  const handler = handlers[msg.cmd]
  void (async () => {
    try {
      process.send!({ seq: msg.seq, ok: true, value: await handler(msg) })
    } catch (err) {
      process.send!({ seq: msg.seq, ok: false, error: (err as Error).stack ?? String(err) })
    }
  })()
})
process.on('uncaughtException', err => { process.stderr.write(`scale child: uncaught ${err.stack ?? String(err)}\n`) })
process.on('unhandledRejection', err => { process.stderr.write(`scale child: unhandled ${String(err)}\n`) })
process.send!({ seq: 0, ok: true, value: 'ready' })
