// Routing tables on a starved machine (issue 16, scale): kad-dht adds a connected peer only if a
// ping answers when it connects. When those pings fail (a loaded machine: timers held up for
// seconds), the peer stays connected but out of the table and nothing offered it again: a node
// kept an empty table (its self-query had nobody to ask) and was in nobody's table (no lookup
// found it). Connected DHT servers missing from the table are now offered again periodically.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_OVERLAY, DHT_PROTOCOL } from '../../src/net/index.ts'
import { Harness, waitFor, type TestNode } from './helpers.ts'

const tableSize = (node: TestNode): number => (node.network.libp2p.services.dht as unknown as { routingTable: { size: number } }).routingTable.size

/** Fault: every ping this node makes fails at once while `failing.on` (a starved machine's pings). */
function pingsFail (node: TestNode, failing: { on: boolean }): void {
  const ping = node.network.libp2p.services.ping
  const real = ping.ping.bind(ping)
  ping.ping = (async (...args: Parameters<typeof real>) => {
    if (failing.on) throw new Error('ping timed out (fault)')
    return await real(...args)
  }) as typeof ping.ping
}

test('connected DHT servers whose first ping failed enter the routing table later, so every node is in some table', { timeout: 120_000 }, async (t) => {
  const h = new Harness(t)
  const failing = { on: true }
  // The latency probe pings only when a peer connects (once: it hangs up after 3 misses), so no
  // reconnection re-adds peers behind the keeper's back; the keeper runs every second.
  const timing = { pingIntervalMs: 600_000, dhtTableRefillMs: 1_000 }
  const first = await h.node({ name: 'first', overlay: DEFAULT_OVERLAY, timing })
  pingsFail(first, failing)
  const nodes = [first]
  for (const name of ['b', 'c', 'd']) {
    const node = await h.node({ name, overlay: DEFAULT_OVERLAY, timing, bootstrap: [first.address] })
    pingsFail(node, failing)
    nodes.push(node)
  }
  // Every node connected to the bootstrap node and knows it speaks the DHT; no ping has answered.
  await waitFor('every node to know its peers are DHT servers', async () => {
    for (const node of nodes) {
      const peers = node.network.libp2p.getPeers()
      if (peers.length === 0) return false
      for (const peer of peers) if (!(await node.network.libp2p.peerStore.get(peer)).protocols.includes(DHT_PROTOCOL)) return false
    }
    return true
  }, { timeoutMs: 60_000, intervalMs: 100 })
  assert.deepEqual(nodes.map(tableSize), [0, 0, 0, 0], 'no peer entered a table while pings failed')

  failing.on = false // the machine has CPU again
  await waitFor('every node to have its connected peers in its table', () => nodes.every(n => tableSize(n) >= Math.min(1, n.network.libp2p.getPeers().length) && tableSize(n) > 0), { timeoutMs: 20_000, intervalMs: 100 })
    .catch((err: Error) => { throw new Error(`${err.message}: table sizes ${nodes.map(tableSize).join(' ')}`) })
  assert.equal(tableSize(first), first.network.libp2p.getPeers().length, 'the bootstrap node has every connected server in its table')
})
