// Only nodes holding the network key become peers; a refusal is reported and logged on both sides.

import { createHash, randomBytes } from 'node:crypto'
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
import type { Stream } from '@libp2p/interface'
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

/** A stock js-libp2p node of the harness's network: @libp2p/pnet, Noise, Yamux; it answers our
 * node's pings (without them our node would close the connection as dead). */
async function startStockNode (h: Harness): Promise<Awaited<ReturnType<typeof createStock>>> {
  const stock = await createStock(h.networkKey)
  h.onCleanup(async () => { await stock.stop() })
  return stock
}

async function createStock (psk: Uint8Array) {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: preSharedKey({ psk }),
    services: { identify: identify(), ping: ping() },
    // Its default monitor aborts a connection whose ping is slow: a connection busy with 64 MiB
    // each way on a loaded machine would be cut in the middle (ours runs with it off too).
    connectionMonitor: { enabled: false }
  })
}

test('a stock libp2p node holding the key (@libp2p/pnet) can connect, ping and see our protocols', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const stock = await startStockNode(h)
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

const ECHO_PROTOCOL = '/distri-vault/test-echo/1'
const BULK_BYTES = 64 * 1024 * 1024
const IN_FLIGHT_BYTES = 8 * 1024 * 1024

/** Waits for the stream's next 'drain' (or fails when it closes first). */
async function drained (stream: Stream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => { stream.removeEventListener('close', onClose); resolve() }
    const onClose = (): void => { stream.removeEventListener('drain', onDrain); reject(new Error('the stream closed while waiting to write')) }
    stream.addEventListener('drain', onDrain, { once: true })
    stream.addEventListener('close', onClose, { once: true })
  })
}

test('64 MiB cross the private network both ways between our node and a stock @libp2p/pnet node, bytes intact', async (t) => {
  const h = new Harness(t)
  // The tests' 2-second ping cadence would close a connection this busy as dead on a loaded
  // machine (three pings queued behind megabytes); this test is about bytes, not liveness.
  const a = await h.node({ name: 'a', timing: { pingIntervalMs: 120_000 } })
  // Our node echoes every byte back, so each byte goes stock → ours (our inbound XOR) and
  // ours → stock (our outbound XOR); it also hashes what it received.
  const receivedByOurs = createHash('sha256')
  let receivedBytes = 0
  await a.network.libp2p.handle(ECHO_PROTOCOL, async (stream) => {
    for await (const data of stream) {
      for (const piece of data instanceof Uint8Array ? [data] : data) receivedByOurs.update(piece)
      receivedBytes += data.byteLength
      if (!stream.send(data) && stream.writableNeedsDrain) await drained(stream)
    }
    await stream.close()
  })
  const stock = await startStockNode(h)
  const stream = await stock.dialProtocol(multiaddr(a.address), ECHO_PROTOCOL)
  const sent = createHash('sha256')
  const echoed = createHash('sha256')
  let echoedBytes = 0
  let echoMoved = (): void => {}
  const reading = (async () => {
    for await (const data of stream) {
      for (const piece of data instanceof Uint8Array ? [data] : data) echoed.update(piece)
      echoedBytes += data.byteLength
      echoMoved()
    }
  })()
  for (let at = 0; at < BULK_BYTES; at += 64 * 1024) {
    // At most 8 MiB ahead of the echo: the stock node hands what it read while busy to its
    // xsalsa20 WebAssembly module as one buffer, whose memory stops at 64 MB. On a loaded machine
    // the whole echo was once read in one go and the stock side threw (Memory.grow exceeded).
    while (at - echoedBytes > IN_FLIGHT_BYTES) await new Promise<void>(resolve => { echoMoved = resolve })
    const chunk = randomBytes(64 * 1024)
    sent.update(chunk)
    if (!stream.send(chunk) && stream.writableNeedsDrain) await drained(stream)
  }
  await stream.close()
  await reading
  const expected = sent.digest('hex')
  assert.equal(receivedBytes, BULK_BYTES)
  assert.equal(receivedByOurs.digest('hex'), expected, 'our node received other bytes than the stock node sent')
  assert.equal(echoedBytes, BULK_BYTES)
  assert.equal(echoed.digest('hex'), expected, 'the stock node got other bytes back than it sent')
})
