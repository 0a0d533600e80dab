// A node pings at most maxPingsPerRound peers per interval, the least recently pinged first, but
// enough to reach each peer every 3 intervals: a DHT node's ~25 connections pinged every interval
// from both ends were most of an idle node's socket writes. Every peer still gets its turn.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, connectedTo, waitFor } from './helpers.ts'

test('with more peers than its ping budget a node pings each in turn, every peer within 3 intervals', async (t) => {
  const h = new Harness(t)
  // A budget of 1 per interval, but 4 peers need ceil(4 / 3) = 2 per interval to be reached every 3.
  const hub = await h.node({ name: 'hub', timing: { pingIntervalMs: 300, maxPingsPerRound: 1 } })
  const peers = []
  for (let i = 0; i < 4; i++) peers.push(await h.node({ name: `p${i}`, bootstrap: [hub.address], timing: { pingIntervalMs: 600_000 } }))
  await waitFor('the hub connected to its 4 peers', () => peers.every(p => connectedTo(hub, p)))
  const pings: string[] = []
  const ping = hub.network.libp2p.services.ping
  const original = ping.ping.bind(ping)
  ping.ping = async (peer, options) => { pings.push(peer.toString()); return await original(peer, options) }
  const started = Date.now()
  // Not a fixed sleep: until every peer had 3 turns (under load the rounds only come later).
  await waitFor('every peer pinged 3 times', () => peers.every(p => pings.filter(peer => peer === p.nodeId).length >= 3), { timeoutMs: 60_000 })
  const rounds = Math.ceil((Date.now() - started) / 300)
  t.diagnostic(`${pings.length} pings in ${rounds} intervals (all 4 every time would be ${4 * rounds})`)
  // The budget caps the rate: a slow machine only makes rounds later, never bigger.
  assert.ok(pings.length <= 2 * rounds, `${pings.length} pings in ${rounds} intervals of at most 2`)
  // Every peer within 3 intervals, counted in pings rather than milliseconds (a timer's slack under
  // load moves the spacing, not the turns): at most 2 per interval, so at most 6 pings from one
  // ping of a peer to its next.
  for (const p of peers) {
    const turns = pings.flatMap((peer, i) => peer === p.nodeId ? [i] : [])
    for (let i = 1; i < turns.length; i++) assert.ok(turns[i] - turns[i - 1] <= 6, `${p.name} waited ${turns[i] - turns[i - 1]} pings: ${pings.map(peer => peer.slice(-4)).join(' ')}`)
  }
})
