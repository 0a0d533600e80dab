// Only nodes holding the network key become peers; a refusal is reported and logged on both sides.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { multiaddr } from '@multiformats/multiaddr'
import { generateNetworkKey, type Refusal } from '../../src/net/index.ts'
import { PEX_PROTOCOL } from '../../src/protocols/index.ts'
import { Harness, connectedTo, waitFor } from './helpers.ts'

test('a node with another network key never becomes a peer, and both sides report the refusal', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  await waitFor('b connected to a', () => connectedTo(b, a))
  const refusedAtA: Refusal[] = []
  a.network.on('refused', r => refusedAtA.push(r))

  const outsider = await h.node({ name: 'outsider', networkKey: generateNetworkKey(), bootstrap: [a.address] })
  const refusedAtOutsider: Refusal[] = []
  outsider.network.on('refused', r => refusedAtOutsider.push(r))
  // A failed handshake can take up to the handshake timeout (5 s) when the garbled bytes decode
  // as a long length prefix; the outsider keeps retrying with back-off meanwhile.
  await waitFor('the refusal on both sides', () => refusedAtA.length > 0 && refusedAtOutsider.length > 0, { timeoutMs: 15_000 })

  assert.equal(refusedAtA[0].direction, 'inbound')
  assert.match(refusedAtA[0].remoteAddr, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+/)
  assert.match(refusedAtA[0].reason, /different network key/)
  assert.equal(refusedAtOutsider[0].direction, 'outbound')
  assert.ok(refusedAtOutsider[0].remoteAddr.startsWith(a.address.split('/p2p/')[0]), refusedAtOutsider[0].remoteAddr)
  for (const node of [a, outsider]) {
    const warning = node.logs.lines.find(line => line.level === 40 && String(line.msg).startsWith('connection refused'))
    assert.ok(warning != null, `${node.name} logged no refusal warning`)
    assert.match(String(warning.remoteAddr), /^\/ip4\/127\.0\.0\.1\/tcp\//)
  }
  assert.ok(a.network.stats().refusedConnections >= 1)

  assert.deepEqual(outsider.network.peers(), [])
  assert.deepEqual(a.network.peers().map(p => p.nodeId), [b.nodeId])
  await assert.rejects(outsider.network.libp2p.dialProtocol(peerIdFromString(a.nodeId), PEX_PROTOCOL))
  assert.equal(a.network.isConnected(outsider.nodeId), false)
})

test('a stock libp2p node holding the key (@libp2p/pnet) can connect, ping and see our protocols', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const stock = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: preSharedKey({ psk: h.networkKey }),
    services: { identify: identify(), ping: ping() }
  })
  h.onCleanup(async () => { await stock.stop() })
  const rttMs = await stock.services.ping.ping(multiaddr(a.address))
  assert.ok(rttMs >= 0)
  await waitFor('a sees the stock node', () => a.network.isConnected(stock.peerId.toString()))
  await waitFor('the stock node identified a', async () => {
    const peer = await stock.peerStore.get(peerIdFromString(a.nodeId)).catch(() => undefined)
    return peer?.protocols.includes('/ipfs/ping/1.0.0') === true && peer.protocols.includes(PEX_PROTOCOL)
  })
  // And the other way round: our node pings the stock one over the same connection.
  await waitFor('a measured the stock node\'s latency', () => a.network.peers().some(p => p.nodeId === stock.peerId.toString() && p.latencyMs != null))
})
