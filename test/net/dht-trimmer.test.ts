// The connection trimmer (issue 16) closes only idle connections. It picks its candidates, then
// ranks them by their peer-store tags (an await); a transfer that opened a stream on a candidate in
// between had its connection closed under it, and a put moved on to the next holder: a skipped XOR
// rank in dht-replication.test.ts. The peer store is slowed here to hold that window open.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { DEFAULT_OVERLAY } from '../../src/net/index.ts'
import { ConnectionTrimmer } from '../../src/net/connection-trimmer.ts'
import { DIAL_BACK_PROTOCOL } from '../../src/protocols/index.ts'
import { Harness, waitFor } from './helpers.ts'

test('a connection that starts a transfer while the trimmer ranks it is not closed', { timeout: 120_000 }, async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a', overlay: DEFAULT_OVERLAY })
  const b = await h.node({ name: 'b', overlay: DEFAULT_OVERLAY, bootstrap: [a.address] })
  await waitFor('b to be connected to a', () => b.network.isConnected(a.nodeId), { timeoutMs: 30_000 })
  const libp2p = b.network.libp2p
  // Idle streams only (identify, kad, gossip, ping) before the trim looks.
  await waitFor('b\'s connection to a to be idle', () => libp2p.getConnections(peerIdFromString(a.nodeId)).every(c =>
    c.streams.every(s => s.protocol != null && /meshsub|kad|\/ipfs\/id\/|ping/.test(s.protocol))), { timeoutMs: 30_000, intervalMs: 50 })

  // Fault: the peer store answers only when the test lets it (the trimmer's ranking awaits it).
  let release!: () => void
  const held = new Promise<void>(resolve => { release = resolve })
  let ranking!: () => void
  const ranked = new Promise<void>(resolve => { ranking = resolve })
  const peerStore = libp2p.peerStore
  const get = peerStore.get.bind(peerStore)
  peerStore.get = async (...args: Parameters<typeof get>) => { ranking(); await held; return await get(...args) }
  t.after(() => { peerStore.get = get })

  // A bound of 0 with no grace: every idle connection is a candidate.
  const trimmer = new ConnectionTrimmer({ libp2p, log: b.logs.log, maxConnections: 0, graceMs: 0, intervalMs: 3_600_000 })
  trimmer.start()
  t.after(() => { trimmer.stop() })
  const trim = trimmer.trim()
  await ranked
  // Work starts on the connection while the trimmer ranks it (a request that waits for its answer).
  const [connection] = libp2p.getConnections(peerIdFromString(a.nodeId))
  const stream = await connection.newStream(DIAL_BACK_PROTOCOL)
  t.after(() => { stream.abort(new Error('test done')) })
  release()
  await trim
  assert.equal(connection.status, 'open', 'the connection carrying a transfer was left open')
  assert.equal(trimmer.closed, 0)
})
