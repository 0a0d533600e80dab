// The DHT overlay (issue 16) on real TCP on 127.0.0.1: holders found through provider records,
// closest peers by XOR distance, bounded connections, and broadcast over gossipsub that rejects
// forged envelopes and scores down their sender.

import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { DEFAULT_OVERLAY, DhtRouting, noHoldersError, type OverlayOptions } from '../../src/net/index.ts'
import { sortByDistance } from '../../src/net/dht-routing.ts'
import { createMessenger, type Messenger } from '../../src/messaging/index.ts'
import { GOSSIP_MESSAGES_TOPIC } from '../../src/protocols/index.ts'
import { Harness, inbox, waitFor, type NodeOptions, type TestNode } from './helpers.ts'
import type { TestContext } from 'node:test'
import type { Connection } from '@libp2p/interface'

const OVERLAY: OverlayOptions = { ...DEFAULT_OVERLAY }

// Handshakes get 20 s: on a loaded shared machine many nodes in one process starve, and a join
// that fails its handshake waits for the keeper's back-off.
const SLOW_CPU = { handshakeTimeoutMs: 20_000 }

// Requests (pings: three missed and the peer is hung up on) get 20 s too. The dial back that once
// failed here at 3 s under load (the node then turned DHT client behind a relay it did not need)
// has its own 15 s deadline now, and one failure no longer decides (reachability.test.ts).
const SLOW_REQUESTS = { requestTimeoutMs: 20_000 }

async function dhtNetwork (h: Harness, size: number, options: NodeOptions = {}): Promise<TestNode[]> {
  const first = await h.node({ overlay: OVERLAY, limits: { maxConnections: 64, ...SLOW_CPU }, timing: SLOW_REQUESTS })
  const nodes = [first]
  for (let i = 1; i < size; i++) nodes.push(await h.node({ overlay: OVERLAY, bootstrap: [first.address], timing: SLOW_REQUESTS, ...options, limits: { ...SLOW_CPU, ...options.limits } }))
  return nodes
}

function routing (h: Harness, node: TestNode): DhtRouting {
  const r = new DhtRouting({ libp2p: node.network.libp2p, log: node.logs.log, queryTimeoutMs: 10_000, retryProvideMs: 300 })
  r.start()
  h.onCleanup(() => r.stop())
  return r
}

async function routingTableSize (node: TestNode): Promise<number> {
  return (node.network.libp2p.services.dht as unknown as { routingTable: { size: number } }).routingTable.size
}

// One network of ten for the holder, closest-peer and gossip tests (each used to start its own
// 8-10 nodes): the tests only read it, except the gossip test's messengers, which are its own.
let shared: { h: Harness, nodes: TestNode[] } | undefined
const cleanups: Array<() => Promise<void>> = []
before(async () => {
  const h = new Harness({ after: (fn: () => Promise<void>) => { cleanups.push(fn) } } as unknown as TestContext)
  const nodes = await dhtNetwork(h, 10)
  // 150 s: at load 30 (six engineers' suites on two cores) ten joins were seen to need over 90 s.
  await waitFor('every routing table to have peers', async () => (await Promise.all(nodes.map(routingTableSize))).every(n => n >= 2), { timeoutMs: 150_000 })
    .catch(async (err: Error) => { throw new Error(`${err.message}: sizes ${(await Promise.all(nodes.map(routingTableSize))).join(' ')}, reachability ${nodes.map(n => n.network.reachability()).join(' ')}`) })
  shared = { h, nodes }
}, { timeout: 300_000 })
after(async () => { for (const cleanup of cleanups) await cleanup() })

test('an owner finds every holder of its folder through the DHT, without peer exchange', { timeout: 300_000 }, async () => {
  const { h, nodes } = shared!
  const owner = nodes[9].nodeId
  const holders = [nodes[2], nodes[5], nodes[7]]
  for (const holder of holders) {
    const r = routing(h, holder)
    await waitFor(`${holder.name}'s provider record to reach a DHT server`, async () => (await r.provideOwner(owner)) > 0, { timeoutMs: 60_000, intervalMs: 300 })
  }
  const seeker = routing(h, nodes[9])
  let found: string[] = []
  await waitFor('the owner to find its three holders', async () => {
    found = (await seeker.holdersOf(owner)).map(String).sort()
    return found.length === 3
  }, { timeoutMs: 60_000, intervalMs: 300 })
  assert.deepEqual(found, holders.map(n => n.nodeId).sort())
  assert.ok(seeker.lastQuery.contacted < nodes.length, `asked ${seeker.lastQuery.contacted} nodes, fewer than all ${nodes.length}`)
  assert.equal(nodes.reduce((sum, n) => sum + n.network.stats().peerExchanges, 0), 0, 'no peer exchange beside the DHT')

  // An owner nobody holds anything of (what `recover` meets when its holders are offline or it
  // never stored anything): the lookup runs, names nobody, and recover's error says so.
  assert.deepEqual(await seeker.holdersOf(nodes[4].nodeId), [])
  const err = noHoldersError(seeker, nodes[9].network.stats().connectedPeers)
  assert.equal(err.code, 'NOT_FOUND')
  assert.match(err.message, /^no holder of this node's folder was found through the DHT \(asked [1-9]\d* peers?, [1-9]\d* connected\)/)
  const alone = noHoldersError(seeker, 0)
  assert.equal(alone.code, 'UNREACHABLE', 'with no peer at all it is a connection problem')
})

test('closestPeers returns the peers nearest to a key by XOR distance', async () => {
  const { h, nodes } = shared!
  const key = new TextEncoder().encode('a chunk key')
  const expected = sortByDistance(nodes.slice(1).map(n => peerIdFromString(n.nodeId)), key).slice(0, 3).map(String)
  const r = routing(h, nodes[0])
  let got: string[] = []
  await waitFor('the three nearest peers', async () => {
    got = (await r.closestPeers(key, 3)).map(String)
    return got.join() === expected.join()
  }, { timeoutMs: 20_000, intervalMs: 300 })
  assert.deepEqual(got, expected)
})

// The bound (issue 16). Before: kad-dht kept its 20 nearest peers keep-alive and libp2p redialled
// each one the trimmer closed, and two peers redialling each other at once got two connections:
// 14 nodes with a bound of 5 sat at 24-26 connections each, two to many a peer. A DHT lookup still
// opens short-lived connections to the peers it asks (closed once idle past the grace period), so
// the bound is asserted on each node's median over a sampling window, plus a small slack.
const BOUND = 4
const SLACK = 2

test('with the DHT a node keeps about --max-connections connections, and never two to one peer for long', { timeout: 400_000 }, async (t) => {
  const h = new Harness(t)
  // No reachability checks here: under load, ten nodes sharing one process and one IP judged
  // themselves unreachable now and then (docs/PERFORMANCE.md, session 10), and a node that thinks so
  // goes looking for relays, another regime than the bound this test is about. Verdicts have their
  // own tests (reachability.test.ts, nat.test.ts).
  const nodes = await dhtNetwork(h, 10, { limits: { maxConnections: BOUND }, overlay: { ...OVERLAY, connectionGraceMs: 2_000 }, timing: { ...SLOW_REQUESTS, reachabilityFirstCheckMs: 3_600_000 } })
  await waitFor('routing tables', async () => (await Promise.all(nodes.map(routingTableSize))).every(n => n >= 2), { timeoutMs: 150_000 })
  const bounded = nodes.slice(1)
  const samples: number[][] = bounded.map(() => [])
  /** Each node's connections the last time it was above the bound: why, if the median fails. */
  const overBound: string[] = bounded.map(() => '')
  /** When each (node, peer) pair was first seen connected twice, in the current run of samples. */
  const twiceSince = new Map<string, number>()
  let longestTwiceMs = 0
  let worstPair = ''
  const started = Date.now()
  await waitFor('15 s of samples', () => {
    const now = Date.now()
    const seen = new Set<string>()
    bounded.forEach((node, i) => {
      const connections = node.network.libp2p.getConnections().filter(c => c.status === 'open')
      samples[i].push(connections.length)
      if (connections.length > BOUND + SLACK) overBound[i] = `(${node.network.reachability()}; ${reachabilityEvidence(node)}) ${describeConnections(connections, now)}`
      const peers = connections.map(c => c.remotePeer.toString())
      for (const peer of new Set(peers.filter((p, j) => peers.indexOf(p) !== j))) {
        const key = `${node.name}>${peer.slice(-6)}`
        seen.add(key)
        const since = twiceSince.get(key) ?? now
        twiceSince.set(key, since)
        if (now - since > longestTwiceMs) { longestTwiceMs = now - since; worstPair = key }
      }
    })
    for (const key of twiceSince.keys()) if (!seen.has(key)) twiceSince.delete(key)
    return now - started >= 15_000
  }, { timeoutMs: 60_000, intervalMs: 250 })
  const medians = samples.map(s => [...s].sort((a, b) => a - b)[Math.floor(s.length / 2)])
  const why = medians.flatMap((m, i) => m > BOUND + SLACK ? [`${bounded[i].name}: ${overBound[i]}`] : [])
  assert.ok(why.length === 0, `median connections per node (bound ${BOUND}): ${medians.join(' ')}; last seen above it: ${why.join('; ')}`)
  assert.ok(longestTwiceMs < 8_000, `a peer was connected twice for ${longestTwiceMs} ms (${worstPair})`)
})

/** The node's reachability checks that changed or questioned its verdict: their yes/no/none answers. */
function reachabilityEvidence (node: TestNode): string {
  return node.logs.lines.filter(l => typeof l.reachability === 'string').slice(-4).map(l => `${String(l.reachability)} y${String(l.yes)}/n${String(l.no)}/-${String(l.none)}`).join(', ') || 'no check logged'
}

/** `peer:direction[:relayed]:age ms`, and the streams the trimmer counts as work (so never closes) with their age. */
function describeConnections (connections: Connection[], now: number): string {
  const chatter = [/^\/meshsub\//, /\/kad\//, /^\/ipfs\/id\//, /^\/ipfs\/ping\//]
  return connections.map(c => {
    const work = c.streams.filter(s => s.protocol == null || !chatter.some(p => p.test(s.protocol!))).map(s => `${s.protocol ?? '(negotiating)'}@${now - s.timeline.open}`)
    const relayed = c.remoteAddr.toString().includes('/p2p-circuit') ? ':relayed' : ''
    return `${c.remotePeer.toString().slice(-4)}:${c.direction}${relayed}:${now - c.timeline.open}${work.length > 0 ? `[${work.join(',')}]` : ''}`
  }).join(' ')
}

async function gossipMessenger (h: Harness, node: TestNode): Promise<Messenger> {
  const messenger = createMessenger({ network: node.network, db: await h.database(), privateKey: node.privateKey, log: node.logs.log, broadcast: 'gossip' })
  h.onCleanup(async () => { await messenger.stop() })
  await messenger.start()
  return messenger
}

test('a message to all reaches every node once over gossipsub, and a forged one reaches none', async () => {
  const { h, nodes } = shared!
  const messengers = await Promise.all(nodes.map(async n => await gossipMessenger(h, n)))
  const inboxes = messengers.map(inbox)
  const pubsubOf = (n: TestNode): NonNullable<TestNode['network']['libp2p']['services']['pubsub']> => n.network.libp2p.services.pubsub!
  await waitFor('every node to see a subscriber of the topic', () => nodes.every(n => pubsubOf(n).getSubscribers(GOSSIP_MESSAGES_TOPIC).length > 0), { timeoutMs: 20_000 })
  await waitFor('a message to all to reach every other node', async () => {
    await messengers[3].broadcast(`hello ${Date.now()}`)
    return inboxes.every((box, i) => i === 3 || box.length > 0)
  }, { timeoutMs: 20_000, intervalMs: 1_000 })
  const first = inboxes[0][0]
  for (const [i, box] of inboxes.entries()) {
    if (i === 3) continue
    assert.equal(box.filter(m => m.id === first.id).length <= 1, true, `node ${i} got one copy`)
  }

  // Node 5 gossips an envelope claiming to come from node 1, with a bad signature.
  const rogue = nodes[5]
  const forged = { type: 'msg', hops: 0, message: { id: 'forgedforgedforged', from: nodes[1].nodeId, to: '*', text: 'pay me', at: new Date().toISOString(), sig: Buffer.alloc(64, 1).toString('base64') } }
  await pubsubOf(rogue).publish(GOSSIP_MESSAGES_TOPIC, new TextEncoder().encode(JSON.stringify(forged)))
  const neighbours = nodes.filter(n => n !== rogue && n.network.isConnected(rogue.nodeId))
  assert.ok(neighbours.length > 0)
  await waitFor('the rogue\'s neighbours to reject it', () => neighbours.some((n, i) => messengers[nodes.indexOf(n)].stats().dropped.forged > 0), { timeoutMs: 10_000 })
  const scoreOf = (n: TestNode): number => (pubsubOf(n) as unknown as { getScore: (id: string) => number }).getScore(rogue.nodeId)
  // Scores are recomputed on gossipsub's heartbeat.
  await waitFor('the rogue to be scored down', () => neighbours.some(n => scoreOf(n) < 0), { timeoutMs: 15_000 })
  assert.ok(neighbours.some(n => scoreOf(n) <= -80), `the rogue is graylisted: ${neighbours.map(scoreOf).join(', ')}`)
  assert.ok(inboxes.every(box => box.every(m => m.text !== 'pay me')), 'nobody delivered the forgery')
})
