// Nodes behind NAT on the DHT overlay (issue 16), in one process on 127.0.0.1: what the NAT lab
// (nat.test.ts, root only) needs from the libp2p wiring, checked everywhere. A --nat node that got
// its relay address must tell the relay (identify push) that it now answers DHT queries and where
// it is reachable, so the relay's routing table holds it and lookups return it with its circuit
// address; and a node whose only peer is its bootstrap must keep that peer in its routing table.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_OVERLAY, type OverlayOptions, type PeerInfo } from '../../src/net/index.ts'
import { Harness, waitFor, type TestNode } from './helpers.ts'

const RELAY: OverlayOptions = { ...DEFAULT_OVERLAY, relay: true }
const BEHIND_NAT: OverlayOptions = { ...DEFAULT_OVERLAY, behindNat: true }
const SLOW_CPU = { handshakeTimeoutMs: 20_000 }

interface RoutingTable { size: number, find: (peer: unknown) => Promise<unknown> }
const routingTable = (node: TestNode): RoutingTable =>
  (node.network.libp2p.services.dht as unknown as { routingTable: RoutingTable }).routingTable

async function inRoutingTable (node: TestNode, other: TestNode): Promise<boolean> {
  return (await routingTable(node).find(peerIdFromString(other.nodeId))) != null
}

test('a relayed node turns DHT server, the relay learns it and hands out its circuit address', async (t) => {
  const h = new Harness(t)
  const relay = await h.node({ name: 'relay', overlay: RELAY, limits: SLOW_CPU })
  const a = await h.node({ name: 'a', overlay: BEHIND_NAT, bootstrap: [relay.address], limits: SLOW_CPU })
  const b = await h.node({ name: 'b', overlay: BEHIND_NAT, bootstrap: [relay.address], limits: SLOW_CPU })
  for (const node of [a, b]) {
    await waitFor(`${node.name} to hold a relay reservation`, () => node.network.reachability() === 'relayed', { timeoutMs: 60_000 })
    await waitFor(`${node.name} to be a DHT server`, () => node.network.libp2p.services.dht?.getMode() === 'server', { timeoutMs: 30_000 })
    // Its only peer, the relay, is in its routing table (libp2p's one outbound ping stream used
    // to be taken by our latency probe, and the DHT's check of the new peer failed).
    await waitFor(`${node.name}'s routing table to hold the relay`, async () => await inRoutingTable(node, relay), { timeoutMs: 30_000, intervalMs: 100 })
    // The relay heard of the switch (identify push) and answers lookups with it.
    await waitFor(`the relay's routing table to hold ${node.name}`, async () => await inRoutingTable(relay, node), { timeoutMs: 30_000, intervalMs: 100 })
  }
  const known = await relay.network.libp2p.peerStore.get(peerIdFromString(a.nodeId))
  assert.ok(known.addresses.some(({ multiaddr }) => multiaddr.toString().includes(`/p2p/${relay.nodeId}/p2p-circuit`)),
    `the relay knows a's circuit address: ${known.addresses.map(x => x.multiaddr.toString()).join(' ')}`)
  // b looks a up through the relay's DHT and gets it.
  const found = await waitFor('b to find a through the DHT', async () => {
    for await (const event of b.network.libp2p.services.dht!.getClosestPeers(peerIdFromString(a.nodeId).toMultihash().bytes, { signal: AbortSignal.timeout(10_000) })) {
      if (event.name === 'PEER_RESPONSE' && event.closer.some(p => p.id.toString() === a.nodeId)) return true
      if (event.name === 'FINAL_PEER' && event.peer.id.toString() === a.nodeId) return true
    }
    return undefined
  }, { timeoutMs: 60_000, intervalMs: 500 })
  assert.equal(found, true)
})

test('two pings of one peer at once both succeed (our latency probe and the DHT check a new peer together)', async (t) => {
  const h = new Harness(t)
  const relay = await h.node({ name: 'relay', overlay: RELAY, limits: SLOW_CPU })
  const a = await h.node({ name: 'a', overlay: BEHIND_NAT, bootstrap: [relay.address], limits: SLOW_CPU })
  await waitFor('a to be connected to the relay', () => a.network.isConnected(relay.nodeId), { timeoutMs: 30_000 })
  const ping = a.network.libp2p.services.ping
  // With libp2p's default of one outbound ping stream the second one failed at once
  // (TooManyOutboundProtocolStreamsError), and kad-dht then left the peer out of its table.
  const rtts = await Promise.all([1, 2, 3].map(async () => await ping.ping(peerIdFromString(relay.nodeId))))
  assert.equal(rtts.filter(ms => typeof ms === 'number' && ms >= 0).length, 3)
})

test('with the DHT a node is "unknown" until a peer dials it back, then "public"', async (t) => {
  const h = new Harness(t)
  const first = await h.node({ name: 'first', overlay: DEFAULT_OVERLAY, limits: SLOW_CPU })
  assert.equal(first.network.reachability(), 'unknown', 'no peer has checked yet')
  const second = await h.node({ name: 'second', overlay: DEFAULT_OVERLAY, bootstrap: [first.address], limits: SLOW_CPU })
  for (const node of [first, second]) {
    await waitFor(`${node.name} to be found reachable`, () => node.network.reachability() === 'public', { timeoutMs: 60_000, intervalMs: 100 })
  }
  // Reachable: no relay slot taken, and the DHT stays in server mode.
  assert.ok(!second.network.addresses().some(a => a.includes('/p2p-circuit')))
  assert.equal(second.network.libp2p.services.dht?.getMode(), 'server')
})

test('peers shows per peer how it is reached: relayed, then direct after a hole punch, and whether the peer listens through a relay', async (t) => {
  const h = new Harness(t)
  const relay = await h.node({ name: 'relay', overlay: RELAY, limits: SLOW_CPU })
  const a = await h.node({ name: 'a', overlay: BEHIND_NAT, bootstrap: [relay.address], limits: SLOW_CPU })
  const b = await h.node({ name: 'b', overlay: DEFAULT_OVERLAY, bootstrap: [relay.address], limits: SLOW_CPU })
  await waitFor('a to hold a relay reservation', () => a.network.reachability() === 'relayed', { timeoutMs: 60_000 })
  const circuit = a.network.addresses().find(addr => addr.includes('/p2p-circuit'))!
  // On 127.0.0.1 a's own address is dialable too, and b's DHT may have dialled it (or dial it again
  // between our dial and our look, as it did once under load): only the relay here, until seen so.
  const peerA = (): PeerInfo | undefined => b.network.peers().find(p => p.nodeId === a.nodeId)
  await waitFor('b to reach a through the relay only', async () => {
    await b.network.libp2p.hangUp(peerIdFromString(a.nodeId))
    await b.network.libp2p.dial(multiaddr(circuit))
    return peerA()?.path === 'relayed'
  }, { timeoutMs: 30_000, intervalMs: 200 })
  assert.equal(peerA()?.holePunched, undefined)
  await waitFor('b to know a listens through the relay', () => peerA()?.reachability === 'relayed', { timeoutMs: 30_000, intervalMs: 100 })
  await waitFor('a to know b by identify', () => a.network.peers().find(p => p.nodeId === b.nodeId)?.reachability === 'public', { timeoutMs: 30_000, intervalMs: 100 })
  assert.equal(b.network.peers().find(p => p.nodeId === relay.nodeId)?.reachability, 'public', 'the relay is public')

  // What dcutr does after a hole punch (on 127.0.0.1 it has nothing to punch): a direct
  // connection opens beside the relayed one, which then closes.
  const direct = await b.network.libp2p.dial(multiaddr(a.address), { force: true })
  for (const c of b.network.libp2p.getConnections(peerIdFromString(a.nodeId))) if (c !== direct) await c.close()
  await waitFor('b to reach a directly', () => peerA()?.path === 'direct', { timeoutMs: 10_000, intervalMs: 100 })
  assert.equal(peerA()?.holePunched, true, 'the direct path replaced a relayed one')
  assert.equal(peerA()?.reachability, 'relayed', 'a itself is still reached through its relay by others')
})
