// Replication over the DHT (issue 16): 10 nodes with --dht and --max-connections 4, so an owner is
// connected to few of them. Copies land on the XOR-nearest nodes, a reader with no catalog entry and
// no connection to the holders finds them, rm reaches the holders, a message to all arrives once at
// each node, and an owner that lost its disk finds its holders through provider records.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { FAST_TIMING, startCluster, putBytes, readBytes, waitFor, type Cluster } from '../helpers/cluster.ts'
import { initDataDir, type VaultNode } from '../../src/index.ts'
import { blobKey } from '../../src/net/index.ts'
import { VaultError } from '../../src/errors.ts'
import { sortByDistance, type DhtRouting } from '../../src/net/dht-routing.ts'
import { GOSSIP_MESSAGES_TOPIC } from '../../src/protocols/index.ts'

const SIZE = 10
const T0 = Date.now()
const step = (what: string): void => { if (process.env.DV_TEST_STEPS === '1') process.stderr.write(`[${Date.now() - T0} ms] ${what}\n`) }
const BOUND = 4
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
// Handshakes get 20 s: eleven nodes in one process on a loaded shared machine starve.
const SLOW_CPU = { networkLimits: { handshakeTimeoutMs: 20_000 } }

function net (node: VaultNode): NonNullable<VaultNode['networking']> {
  const parts = node.networking
  if (parts === undefined) throw new Error(`${node.nodeId} is stopped`)
  return parts
}

function dhtOf (node: VaultNode): DhtRouting {
  return net(node).routing as DhtRouting
}

function routingTableSize (node: VaultNode): number {
  return (net(node).network.libp2p.services.dht as unknown as { routingTable: { size: number } }).routingTable.size
}

/** One bootstrap node (a bigger bound: everyone's first connection), then SIZE-1 nodes at BOUND.
 * One network for both tests: ten nodes take a minute to start on a loaded machine. */
let cluster: Cluster | undefined
before(async () => {
  // Calmer timers than the harness's: ten nodes share one starved process.
  // Requests (pings) get 20 s. At load 30 a dial back that then shared the 3 s request deadline
  // failed, the node judged itself unreachable and turned DHT client (fixed: reachability.ts).
  const calm = { networkTiming: { ...FAST_TIMING, pingIntervalMs: 10_000, requestTimeoutMs: 20_000 }, repairEveryMs: 5_000, blockTimeoutMs: 60_000 }
  cluster = await startCluster({ after: () => {} }, 1, { dht: true, ...SLOW_CPU }, calm)
  for (let i = 1; i < SIZE; i++) { step(`add node ${i}`); await cluster.add({ maxConnections: BOUND }) }
  step("await waitFor('every routing table to have peers', () => clu")
  await waitFor('every routing table to have peers', () => cluster!.nodes.every(n => routingTableSize(n) >= 2), { timeoutMs: 400_000, intervalMs: 250 })
}, { timeout: 900_000 })
after(async () => { await cluster?.stop() })

/** The nodes that keep blob `id` of `owner` in their folder. */
async function holdersOnDisk (nodes: VaultNode[], owner: string, id: string): Promise<string[]> {
  const has = await Promise.all(nodes.map(async n => n.nodeId !== owner && await n.vault.store.has(owner, id)))
  return nodes.filter((_, i) => has[i]).map(n => n.nodeId)
}

function nearest (nodes: VaultNode[], owner: string, id: string, count: number): string[] {
  const others = nodes.filter(n => n.nodeId !== owner).map(n => peerIdFromString(n.nodeId))
  return sortByDistance(others, blobKey(id)).slice(0, count).map(String)
}

/** Gossip frames on the messages-to-all topic reaching each node, duplicates included. */
function countWireCopies (nodes: VaultNode[]): number[] {
  const counts = nodes.map(() => 0)
  nodes.forEach((node, i) => {
    const pubsub = net(node).network.libp2p.services.pubsub as unknown as { handleReceivedMessage: (from: unknown, msg: { topic: string }) => Promise<void> }
    const original = pubsub.handleReceivedMessage.bind(pubsub)
    pubsub.handleReceivedMessage = async (from, msg) => {
      if (msg.topic === GOSSIP_MESSAGES_TOPIC) counts[i]++
      await original(from, msg)
    }
  })
  return counts
}

/** Each node's reachability and DHT mode, for failure messages. */
function describeNodes (nodes: VaultNode[]): string {
  return nodes.map((n, i) => `n${i} ${net(n).network.reachability()}/${net(n).network.libp2p.services.dht?.getMode() ?? '-'}`).join(' ')
}

/** Records the rankings `owner`'s routing hands out per key (the order its put tries holders in). */
function recordRankings (owner: VaultNode): { of: (id: string) => string[][], stop: () => void } {
  const routing = dhtOf(owner)
  const original = routing.closestPeers
  const seen: Array<{ key: string, peers: string[] }> = []
  routing.closestPeers = async (key, n, options) => {
    const peers = await original.call(routing, key, n, options)
    seen.push({ key: Buffer.from(key).toString('hex'), peers: peers.map(String).filter(p => p !== owner.nodeId) })
    return peers
  }
  return {
    of: (id) => seen.filter(s => s.key === Buffer.from(blobKey(id)).toString('hex')).map(s => s.peers),
    stop: () => { routing.closestPeers = original }
  }
}

/** Fault injection: every holder refuses (BUSY) a blob of `owner` it is the XOR-nearest node to,
 * so each copy must come from falling back down the closest list. Returns the undo. */
function nearestRefuses (nodes: VaultNode[], owner: VaultNode): () => void {
  const undo: Array<() => void> = []
  for (const node of nodes) {
    if (node === owner) continue
    const server = net(node).blockServer
    const original = server.storeBlob.bind(server)
    server.storeBlob = async (blobOwner, id, body, how) => {
      if (blobOwner === owner.nodeId && nearest(nodes, owner.nodeId, id, 1)[0] === node.nodeId) throw new VaultError('BUSY', 'injected: the nearest node refuses')
      await original(blobOwner, id, body, how)
    }
    undo.push(() => { server.storeBlob = original })
  }
  return () => { for (const u of undo) u() }
}

test('with the DHT and 4 connections per node: copies go down the XOR-nearest list past a refusing node, a stranger reads by capability, rm reaches the holders, a message to all arrives once', { timeout: 900_000 }, async () => {
  const nodes = cluster!.nodes.slice(0, SIZE)
  const owner = nodes[5]
  // No assertion on the owner's connection count here: in a network this small a Kademlia lookup
  // (k = 20 > 9 others, the self-query every 30 s) reaches every node; the bound is dht.test.ts's.

  // Seen at load 25-33 before: the put took 90-430 s and ended a copy short. The fallback down the
  // list was there; what ran out was time: each push under that starvation could hit the test's
  // 15 s block deadline (an idle machine needs < 1 s), so the put moved on past holders that were
  // slow, not gone. The cluster allows 60 s now (before()), and the nearest node of every blob
  // refuses, so every placement here is a fallback, asserted node by node.
  // Every node is reachable here: each must say so (a slow dial back once made a node judge itself
  // unreachable and turn DHT client; reachability.test.ts), before and after the put.
  await waitFor('every node to be found reachable', () => nodes.every(n => net(n).network.reachability() === 'public'), { timeoutMs: 120_000, intervalMs: 250 })
    .catch((err: Error) => { throw new Error(`${err.message}: ${describeNodes(nodes)}`) })
  const restore = nearestRefuses(nodes, owner)
  const rankings = recordRankings(owner)
  const bytes = randomBytes(3 * 1024 * 1024 + 17)
  step("const stored = await putBytes(owner, 'report.bin', bytes, 3)")
  const stored = await putBytes(owner, 'report.bin', bytes, 3).finally(() => { restore(); rankings.stop() })
  step(`put: replicas ${stored.replicas}`)
  assert.equal(stored.replicas, 3, 'the put made its 3 copies (the owner\'s and two holders) past the refusing nearest nodes')
  const record = owner.vault.catalog.byName('report.bin')!
  const blobs = [...owner.vault.catalog.chunksOf(record.row).map(c => c.id), record.id]
  for (const id of blobs) {
    const onDisk = await holdersOnDisk(nodes, owner.nodeId, id)
    const order = nearest(nodes, owner.nodeId, id, SIZE - 1)
    const ranks = onDisk.map(h => order.indexOf(h)).sort((a, b) => a - b)
    step(`blob ${id.slice(0, 8)}: on disk at XOR ranks ${ranks.join(',')}`)
    // The owner ranked every other node, in XOR order (a lookup that missed one would skip a rank).
    const ranked = rankings.of(id)
    assert.ok(ranked.length > 0, `blob ${id.slice(0, 8)} was ranked by the owner's routing`)
    for (const r of ranked) {
      assert.ok(r.length >= 4, `blob ${id.slice(0, 8)}: the owner ranked ${r.length} nodes, enough to pass a refusal and place 2 copies`)
      assert.deepEqual(r, order.slice(0, r.length), `blob ${id.slice(0, 8)}: the owner's ranking is the XOR order, no node missing (${describeNodes(nodes)})`)
    }
    assert.ok(!ranks.includes(0), `blob ${id.slice(0, 8)}: the refusing nearest node holds nothing`)
    // The next ones in XOR order, none skipped: ranks 1 and 2, or 1, 2 and 3 when a push outlived
    // its deadline after its holder had stored the blob (an extra copy, seen at load 26-32). The
    // skipped rank seen before (1 and 3) was a push whose connection a trimmer closed as it
    // started (dht-trimmer.test.ts).
    assert.ok(ranks.join() === '1,2' || ranks.join() === '1,2,3', `blob ${id.slice(0, 8)} is on the 2nd and 3rd XOR-nearest nodes, no rank skipped (ranks ${ranks.join(',')}; ${describeNodes(nodes)})`)
    assert.ok(owner.vault.catalog.holders.of(id).every(h => onDisk.includes(h)), 'the catalog names only holders that have it')
  }
  assert.ok(nodes.every(n => net(n).network.reachability() === 'public'), `no node turned itself unreachable during the put: ${describeNodes(nodes)}`)

  // A reader with no catalog entry, not connected to any holder of the manifest.
  const manifestHolders = await holdersOnDisk(nodes, owner.nodeId, record.id)
  step("const reader = await waitFor('a node connected to no holder ")
  // In a network this small Kademlia's own lookups often keep every node connected to every
  // other (the bound is soft: dht.test.ts pins it), so waiting for such a node can time out on an
  // idle machine (seen: 60 s). If none shows within 10 s, one is made: its connections to the
  // holders are closed, so the read must find them through the DHT and dial them itself.
  const unconnected = (): VaultNode | undefined => nodes.find(n =>
    n !== owner && !manifestHolders.includes(n.nodeId) && manifestHolders.every(h => !net(n).network.isConnected(h)))
  let reader = await waitFor('a node connected to no holder of the manifest', unconnected, { timeoutMs: 10_000, intervalMs: 250 }).catch(() => undefined)
  if (reader === undefined) {
    reader = nodes.find(n => n !== owner && !manifestHolders.includes(n.nodeId))!
    for (const h of manifestHolders) await net(reader).network.libp2p.hangUp(peerIdFromString(h))
    step('no node was unconnected to the holders: closed one\'s connections to them')
  }
  step("const cap = await owner.vault.share('report.bin')")
  const cap = await owner.vault.share('report.bin')
  assert.equal(sha(await readBytes(reader, cap)), sha(bytes), 'the stranger read the same bytes')

  step("await owner.vault.remove('report.bin')")
  await owner.vault.remove('report.bin')
  for (const id of blobs) assert.deepEqual(await holdersOnDisk(nodes, owner.nodeId, id), [], `blob ${id.slice(0, 8)} is gone from its holders once rm returns`)
  // A holder left with nothing of the owner stops announcing it (a stale record would send the
  // owner's recover to it).
  const providers = nodes.filter(n => n !== owner && (n.vault.store.usage()[owner.nodeId] ?? 0) === 0 && dhtOf(n).providing().includes(owner.nodeId))
  assert.deepEqual(providers.map(n => n.nodeId), [], 'no node with an empty folder for the owner still provides it')

  const copies = countWireCopies(nodes)
  const inboxes = nodes.map(n => { const got: string[] = []; n.messenger().subscribe(m => { got.push(m.id) }); return got })
  const sender = nodes[3]
  step("await waitFor('gossip meshes to form', () => nodes.every(n =")
  await waitFor('gossip meshes to form', () => nodes.every(n => (net(n).network.libp2p.services.pubsub!).getSubscribers(GOSSIP_MESSAGES_TOPIC).length > 0), { timeoutMs: 30_000 })
  step("const sent = await sender.messenger().broadcast('hello every")
  // What a flood would cost: one copy from every peer. Each node's mesh, for the failure message.
  const peersAtSend = nodes.map(n => net(n).network.libp2p.getPeers().length)
  const meshAtSend = nodes.map(n => (net(n).network.libp2p.services.pubsub as unknown as { mesh: Map<string, Set<string>> }).mesh.get(GOSSIP_MESSAGES_TOPIC)?.size ?? 0)
  const sent = await sender.messenger().broadcast('hello everyone')
  step("await waitFor('the message to reach every other node', () =>")
  await waitFor('the message to reach every other node', () => inboxes.every((box, i) => nodes[i] === sender || box.includes(sent.id)), { timeoutMs: 30_000, intervalMs: 100 })
  for (const [i, box] of inboxes.entries()) if (nodes[i] !== sender) assert.equal(box.filter(id => id === sent.id).length, 1, `node ${i} delivered it once`)
  const others = copies.filter((_, i) => nodes[i] !== sender)
  const flood = peersAtSend.filter((_, i) => nodes[i] !== sender).map(p => p - 1)
  // Flooding gives every node one copy from each of its peers but the one it came from (here every
  // node knows all 9 others: 8 each). Gossipsub forwards to its mesh (D = 6, up to Dhi = 12), and
  // the publisher sends to every peer: a node gets about as many copies as it has mesh links,
  // measured 6.3-6.8 on average and up to 7.4 in a 10-node network, where one node's mesh may
  // hold all 9 others. The bound asserted is "fewer than a flood", on the mean; the per-node meshes
  // go in the message. (The saving at scale is the scale bench's: bench/lib/scale-child.ts.)
  const mean = others.reduce((a, b) => a + b, 0) / others.length
  const floodMean = flood.reduce((a, b) => a + b, 0) / flood.length
  assert.ok(mean < floodMean, `the nodes got ${mean.toFixed(1)} copies on the wire on average, a flood would give ${floodMean.toFixed(1)}: copies ${copies.join(' ')}, peers ${peersAtSend.join(' ')}, mesh ${meshAtSend.join(' ')} (sender n3)`)
  assert.equal(nodes.reduce((sum, n) => sum + net(n).network.stats().peerExchanges, 0), 0, 'no peer exchange beside the DHT')
})

test('with the DHT an owner that lost its disk finds its holders through provider records and recovers every file, asking only them', { timeout: 900_000 }, async () => {
  const { phrases, root } = cluster!
  const nodes = cluster!.nodes.slice(0, SIZE)
  const owner = nodes[7]
  // One file, two copies (one holder per blob): the folder cannot cover the whole network.
  const files = new Map([['a.bin', randomBytes(200 * 1024 + 5)]])
  for (const [name, bytes] of files) await putBytes(owner, name, bytes, 2)
  const listed = owner.vault.list().map(f => `${f.name} ${f.id} ${f.size}`)

  const phrase = phrases.get(owner.nodeId)!
  const keyFile = nodes[0].paths.networkKey
  await owner.stop()
  // The holders are counted once the owner is stopped: its history blobs go out in the background
  // after the put returns, so a count taken before could miss a holder that got one a moment later.
  const holders = nodes.filter(n => n !== owner && (n.vault.store.usage()[owner.nodeId] ?? 0) > 0).map(n => n.nodeId).sort()
  assert.ok(holders.length < SIZE - 1, `the folder is on ${holders.length} of ${SIZE - 1} other nodes`)
  await rm(owner.paths.root, { recursive: true, force: true })
  const dataDir = join(root, 'owner-again')
  await initDataDir({ dataDir, recoverPhrase: phrase, joinKeyFile: keyFile })
  step('const again = await cluster!.add({ maxConnections: BOUND }, ')
  const again = await cluster!.add({ maxConnections: BOUND }, dataDir)
  assert.equal(again.vault.list().length, 0)
  // Provider records were published when the holders stored the blobs; wait until the DHT serves them all.
  step("await waitFor('the DHT to name every holder', async () => (a")
  await waitFor('the DHT to name every holder', async () => (await net(again).routing.holdersOf(again.nodeId)).map(String).sort().join() === holders.join(), { timeoutMs: 120_000, intervalMs: 500 })

  step('const result = await again.recover()')
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.equal(result.peers, holders.length, 'recover listed the holders the DHT named, not every node')
  assert.ok(result.peers < SIZE - 1)
  assert.deepEqual(again.vault.list().map(f => `${f.name} ${f.id} ${f.size}`), listed)
  for (const [name, bytes] of files) assert.equal(sha(await readBytes(again, name)), sha(bytes), name)
})
