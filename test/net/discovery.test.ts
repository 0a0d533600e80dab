// A network needs one bootstrap address: peer exchange connects everyone else.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { networkInterfaces } from 'node:os'
import { Harness, connectedTo, waitFor, waitForMesh } from './helpers.ts'

test('a node that knows only a also gets connected to b (peer exchange)', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  await waitFor('b connected to a', () => connectedTo(b, a))
  const c = await h.node({ name: 'c', bootstrap: [a.address] })
  await waitForMesh([a, b, c])

  const seenByC = c.network.peers().find(p => p.nodeId === b.nodeId)
  assert.ok(seenByC != null)
  assert.ok(seenByC.addresses.some(addr => addr.endsWith(`/p2p/${b.nodeId}`)), `addresses of b as c sees them: ${seenByC.addresses.join(' ')}`)
  assert.ok(!Number.isNaN(Date.parse(seenByC.since)))
  await waitFor('a latency measured by c', () => c.network.peers().every(p => p.latencyMs != null))
})

test('bootstrap by host:port without a peer ID, and joins at the same moment still mesh', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const port = a.address.split('/')[4]
  const others = await Promise.all(['b', 'c', 'd'].map(name => h.node({ name, bootstrap: [`127.0.0.1:${port}`] })))
  await waitForMesh([a, ...others])
  for (const node of [a, ...others]) {
    assert.equal(node.network.peers().length, 3, `${node.name} peers`)
    assert.ok(node.network.addresses().every(addr => addr.endsWith(`/p2p/${node.nodeId}`)))
  }
})

test('events and stats report connects and disconnects; stop is idempotent', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const events: string[] = []
  a.network.on('peer:connect', id => events.push(`connect ${id}`))
  a.network.on('peer:disconnect', id => events.push(`disconnect ${id}`))
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  await waitFor('a connected to b', () => connectedTo(a, b))
  await b.network.stop()
  await b.network.stop()
  await waitFor('a sees b leave', () => !a.network.isConnected(b.nodeId))
  assert.deepEqual(events, [`connect ${b.nodeId}`, `disconnect ${b.nodeId}`])
  const stats = a.network.stats()
  assert.equal(stats.connects, 1)
  assert.equal(stats.disconnects, 1)
  assert.equal(stats.connectedPeers, 0)
  assert.deepEqual(b.network.addresses(), [])
  assert.throws(() => b.network.libp2p, /not started/)
})

const lanInterface = Object.values(networkInterfaces()).flat().some(i => i != null && i.family === 'IPv4' && !i.internal)

test('with mDNS, two nodes on the same LAN find each other with no address at all', { skip: lanInterface ? false : 'no LAN interface for multicast' }, async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a', mdns: true, listen: '0.0.0.0:0' })
  const b = await h.node({ name: 'b', mdns: true, listen: '0.0.0.0:0' })
  await waitFor('a and b connected through mDNS', () => connectedTo(a, b) && connectedTo(b, a), { timeoutMs: 15_000 })
})
