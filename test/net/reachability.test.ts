// Reachability with the DHT (issue 16): a node learns whether peers can dial it by asking them to
// dial it back. A slow answer on a loaded machine must not make a reachable node conclude it is
// unreachable (it then turned DHT client behind a relay it did not need, and dropped out of every
// lookup); a node whose address cannot be dialled must still be judged unreachable.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_OVERLAY } from '../../src/net/index.ts'
import { ReachabilityJudge } from '../../src/net/reachability.ts'
import type { DialBack } from '../../src/net/dial-back.ts'
import { Harness, waitFor, type NodeOptions, type TestNode } from './helpers.ts'

const SLOW_CPU = { handshakeTimeoutMs: 20_000 }

test('judge: one success is proof; failures make "unreachable" only when several, from different peers', () => {
  const judge = new ReachabilityJudge()
  assert.equal(judge.record([{ peer: 'a', reachable: false }], 3), 'unknown', 'one failure is not a verdict')
  assert.equal(judge.record([{ peer: 'a', reachable: false }, { peer: 'b', reachable: undefined }], 3), 'unknown')
  assert.equal(judge.record([{ peer: 'a', reachable: false }], 3), 'unknown', 'three failures from one peer, while others could be asked, are not either')
  assert.deepEqual([...judge.failedPeers()], ['a'], 'the peer that failed is asked last next time')
  assert.equal(judge.record([{ peer: 'b', reachable: false }], 3), 'unreachable', 'four failures from two peers are')

  const proven = new ReachabilityJudge()
  assert.equal(proven.record([{ peer: 'a', reachable: false }, { peer: 'b', reachable: true }], 3), 'public', 'a success outweighs failures')
  assert.equal(proven.pendingFailures, 0)
  assert.equal(proven.record([{ peer: 'a', reachable: false }, { peer: 'b', reachable: false }, { peer: 'c', reachable: false }], 3), 'public',
    'a node proven reachable is not flipped by one bad check')
  assert.equal(proven.record([{ peer: 'a', reachable: false }], 3), 'unreachable', 'a second failing check confirms it')

  const alone = new ReachabilityJudge()
  assert.equal(alone.record([{ peer: 'relay', reachable: false }], 1), 'unknown')
  assert.equal(alone.record([{ peer: 'relay', reachable: undefined }], 1), 'unknown', 'no answer is no evidence')
  assert.equal(alone.record([{ peer: 'relay', reachable: false }], 1), 'unknown')
  assert.equal(alone.record([{ peer: 'relay', reachable: false }], 1), 'unreachable', 'with one peer only, its three failures decide')
})

/** Fault: every dial back this node makes (libp2p `dial` with `force`) waits `ms` before it starts. */
function slowDialBacks (node: TestNode, ms: number): void {
  const libp2p = node.network.libp2p
  const dial = libp2p.dial.bind(libp2p)
  libp2p.dial = (async (target: Parameters<typeof dial>[0], options?: Parameters<typeof dial>[1]) => {
    if (options?.force === true) await delay(ms, undefined, { signal: options.signal })
    return await dial(target, options)
  }) as typeof libp2p.dial
}

const saidUnreachable = (node: TestNode): boolean => node.logs.lines.some(l => l.msg === 'peers cannot dial this node (NAT?): listening through a relay')

test('a dial back slower than the old 3 s deadline (a loaded machine) leaves a reachable node public and a DHT server', { timeout: 180_000 }, async (t) => {
  const h = new Harness(t)
  // The harness's 3 s request deadline was also the dial back's: any answer past it said "unreachable".
  const options: NodeOptions = { overlay: DEFAULT_OVERLAY, limits: SLOW_CPU }
  const first = await h.node({ name: 'first', ...options })
  slowDialBacks(first, 4_000)
  const nodes = [first]
  for (const name of ['second', 'third']) {
    const node = await h.node({ name, ...options, bootstrap: [first.address] })
    slowDialBacks(node, 4_000)
    nodes.push(node)
  }
  for (const node of nodes) {
    await waitFor(`${node.name} to be found reachable`, () => node.network.reachability() === 'public' || saidUnreachable(node), { timeoutMs: 120_000, intervalMs: 100 })
    assert.equal(node.network.reachability(), 'public', `${node.name} was judged reachable (not unreachable) from slow dial backs`)
  }
  for (const node of nodes) {
    assert.ok(!saidUnreachable(node), `${node.name} never concluded it was unreachable`)
    assert.equal(node.network.libp2p.services.dht?.getMode(), 'server', `${node.name} stays a DHT server`)
    assert.ok(!node.network.addresses().some(a => a.includes('/p2p-circuit')), `${node.name} listens through no relay`)
  }
})

// A dial back that fails while the asking process is starved (here: the answering node's dial
// holds the one event loop both share for 2 s, then fails) says nothing about reachability. It
// counted before: under load, nodes of one process judged themselves unreachable and went looking
// for relays, dialling peers in bursts (the DHT bound test's failure). Fast failures still count
// (the next test: an address nobody can dial is judged unreachable).
test('a dial back that failed while this process was starved is no answer, not a failure', { timeout: 120_000 }, async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a', overlay: DEFAULT_OVERLAY, limits: SLOW_CPU })
  const b = await h.node({ name: 'b', overlay: DEFAULT_OVERLAY, limits: SLOW_CPU, bootstrap: [a.address] })
  await waitFor('a and b connected', () => a.network.isConnected(b.nodeId) && b.network.isConnected(a.nodeId), { timeoutMs: 30_000 })
  const libp2p = b.network.libp2p
  libp2p.dial = (async () => {
    const until = Date.now() + 2_000
    while (Date.now() < until) { /* the process is starved */ }
    throw new Error('dial failed (fault)')
  }) as typeof libp2p.dial
  const dialBack = (a.network as unknown as { running: { dialBack: DialBack } }).running.dialBack
  const { answers } = await dialBack.check()
  assert.deepEqual(answers, [{ peer: b.nodeId, reachable: undefined }])
  assert.equal(dialBack.excused, 1)
})

/** A TCP port on 127.0.0.1 that nothing listens on (taken, then released). */
async function deadPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

test('a node whose listen address cannot be dialled is judged unreachable, after several failed dial backs, and turns DHT client', { timeout: 180_000 }, async (t) => {
  const h = new Harness(t)
  const timing = { reachabilityConfirmMs: 1_000 }
  const first = await h.node({ name: 'first', overlay: DEFAULT_OVERLAY, limits: SLOW_CPU, timing })
  const second = await h.node({ name: 'second', overlay: DEFAULT_OVERLAY, limits: SLOW_CPU, timing, bootstrap: [first.address] })
  const port = await deadPort()
  const hidden = await h.node({ name: 'hidden', overlay: DEFAULT_OVERLAY, limits: SLOW_CPU, timing, bootstrap: [first.address] })
  // Fault: the addresses it gives out (and asks to be dialled back on) name a port nobody listens on,
  // as behind a router without port forwarding; its connections out work.
  const libp2p = hidden.network.libp2p
  const real = libp2p.getMultiaddrs.bind(libp2p)
  libp2p.getMultiaddrs = () => real().map(ma => multiaddr(ma.toString().replace(/\/tcp\/\d+/, `/tcp/${port}`)))

  await waitFor('hidden to be judged unreachable', () => saidUnreachable(hidden), { timeoutMs: 120_000, intervalMs: 100 })
  const verdict = hidden.logs.lines.find(l => l.msg === 'peers cannot dial this node (NAT?): listening through a relay')!
  assert.ok((verdict.pendingFailures as number) >= 3, `judged after ${String(verdict.pendingFailures)} failed dial backs, not one`)
  assert.ok(hidden.logs.lines.some(l => l.msg === 'a peer could not dial this node back; checking again before concluding'), 'a first failure only led to another check')
  assert.equal(hidden.network.reachability(), 'unreachable', 'behind NAT with no relay to listen through')
  await waitFor('hidden to be a DHT client', () => libp2p.services.dht?.getMode() === 'client', { timeoutMs: 10_000 })
  for (const node of [first, second]) {
    await waitFor(`${node.name} to be found reachable`, () => node.network.reachability() === 'public', { timeoutMs: 120_000, intervalMs: 100 })
  }
})

test('a node judged unreachable is checked again: reachable later (a port forwarded), it is public and a DHT server again, without its relay', { timeout: 180_000 }, async (t) => {
  const h = new Harness(t)
  // A short re-check period; the product's is 1 min, backing off to 30 min.
  const timing = { reachabilityConfirmMs: 1_000, reachabilityUnreachableRecheckMs: 2_000, reachabilityUnreachableRecheckMaxMs: 4_000 }
  const relay = await h.node({ name: 'relay', overlay: { ...DEFAULT_OVERLAY, relay: true }, limits: SLOW_CPU, timing })
  const second = await h.node({ name: 'second', overlay: DEFAULT_OVERLAY, limits: SLOW_CPU, timing, bootstrap: [relay.address] })
  const port = await deadPort()
  const hidden = await h.node({ name: 'hidden', overlay: DEFAULT_OVERLAY, limits: SLOW_CPU, timing, bootstrap: [relay.address] })
  // Fault: its direct addresses name a port nobody listens on (a router without port forwarding).
  const libp2p = hidden.network.libp2p
  const real = libp2p.getMultiaddrs.bind(libp2p)
  let forwarded = false
  libp2p.getMultiaddrs = () => forwarded ? real() : real().map(ma => ma.toString().includes('/p2p-circuit') ? ma : multiaddr(ma.toString().replace(/\/tcp\/\d+/, `/tcp/${port}`)))

  await waitFor('hidden to be judged unreachable', () => saidUnreachable(hidden), { timeoutMs: 120_000, intervalMs: 100 })
  await waitFor('hidden to listen through the relay', () => hidden.network.reachability() === 'relayed', { timeoutMs: 60_000, intervalMs: 100 })
  assert.ok(hidden.network.addresses().some(a => a.includes(`${relay.network.nodeId}/p2p-circuit`)), 'a relayed address through the relay')
  // Still unreachable at a re-check: it stays behind the relay (and the checks back off).
  const checksBefore = hidden.logs.lines.filter(l => l.msg === 'a peer could not dial this node back; checking again before concluding').length
  await waitFor('a re-check that still fails', () => hidden.logs.lines.filter(l => l.msg === 'a peer could not dial this node back; checking again before concluding').length > checksBefore, { timeoutMs: 30_000, intervalMs: 100 })
  assert.equal(hidden.network.reachability(), 'relayed', 'a failed re-check changes nothing')

  forwarded = true // the port is forwarded now: peers can dial it back
  await waitFor('hidden to be judged public again', () => hidden.network.reachability() === 'public', { timeoutMs: 30_000, intervalMs: 100 })
  await waitFor('hidden to be a DHT server again', () => libp2p.services.dht?.getMode() === 'server', { timeoutMs: 10_000, intervalMs: 100 })
  await waitFor('hidden to give up its relayed address', () => !hidden.network.addresses().some(a => a.includes('/p2p-circuit')), { timeoutMs: 10_000, intervalMs: 100 })
  assert.ok(hidden.logs.lines.some(l => l.msg === 'peers can dial this node again: a DHT server, no longer listening through a relay'))
  const tags = (await libp2p.peerStore.get(relay.network.libp2p.peerId)).tags
  assert.ok(!tags.has('keep-alive-circuit-relay'), 'the relay\'s connection is no longer kept alive for a reservation')
  // …and it is found like any server: the other member looks it up through the DHT.
  await waitFor('second to find hidden through the DHT', async () => {
    const found = await second.network.libp2p.services.dht!.getClosestPeers(libp2p.peerId.toMultihash().bytes)
    for await (const event of found) if (event.name === 'FINAL_PEER' && event.peer.id.equals(libp2p.peerId)) return true
    return false
  }, { timeoutMs: 30_000, intervalMs: 500 })
})
