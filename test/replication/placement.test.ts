import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
// Where replication's placement lives (it re-exports net/rendezvous.ts): not replication/index.ts
// nor net/index.ts, which load libp2p and the node's stack (~1.5 CPU-s) for a unit.
import { placeReplicas, placementWeight } from '../../src/net/rendezvous.ts'

const nodeIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `12D3KooWnode${i.toString().padStart(4, '0')}`)
const chunkId = (seed: string): string => createHash('sha256').update(seed).digest('hex')

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b => Buffer.from(b).toString('hex'))
const peerSet = fc.uniqueArray(fc.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{20,30}$/), { minLength: 1, maxLength: 12 })

test('replicas are the highest-weight nodes, best first', () => {
  const id = chunkId('a')
  const peers = nodeIds(8)
  const byWeight = [...peers].sort((a, b) => placementWeight(id, b).localeCompare(placementWeight(id, a)))
  assert.deepEqual(placeReplicas(id, peers, 3), byWeight.slice(0, 3))
  assert.deepEqual(placeReplicas(id, peers, Infinity), byWeight)
})

test('the order does not depend on the order or duplicates of the candidates', () => {
  fc.assert(fc.property(hex64, peerSet, fc.integer({ min: 0, max: 12 }), (id, peers, count) => {
    const shuffled = [...peers].reverse().concat(peers.slice(0, 2))
    assert.deepEqual(placeReplicas(id, shuffled, count), placeReplicas(id, peers, count))
  }))
})

test('asking for more replicas than candidates returns them all; zero or fewer returns none', () => {
  const peers = nodeIds(3)
  assert.equal(placeReplicas(chunkId('b'), peers, 10).length, 3)
  assert.deepEqual(placeReplicas(chunkId('b'), peers, 0), [])
  assert.deepEqual(placeReplicas(chunkId('b'), peers, -1), [])
  assert.deepEqual(placeReplicas(chunkId('b'), [], 2), [])
})

test('removing a peer that was not chosen never changes the choice', () => {
  fc.assert(fc.property(hex64, peerSet, fc.integer({ min: 1, max: 5 }), fc.nat(), (id, peers, count, pick) => {
    const chosen = placeReplicas(id, peers, count)
    const others = peers.filter(p => !chosen.includes(p))
    fc.pre(others.length > 0)
    const gone = others[pick % others.length]
    assert.deepEqual(placeReplicas(id, peers.filter(p => p !== gone), count), chosen)
  }))
})

test('a new peer either joins the choice or leaves it untouched, and displaces at most one node', () => {
  fc.assert(fc.property(hex64, peerSet, fc.integer({ min: 1, max: 5 }), fc.stringMatching(/^[1-9A-HJ-NP-Za-km-z]{31,40}$/), (id, peers, count, newcomer) => {
    const before = placeReplicas(id, peers, count)
    const after = placeReplicas(id, [...peers, newcomer], count)
    if (!after.includes(newcomer)) assert.deepEqual(after, before)
    else assert.ok(before.filter(p => !after.includes(p)).length <= 1)
  }))
})

test('a chosen peer leaving promotes the next in order and keeps the rest', () => {
  fc.assert(fc.property(hex64, peerSet, fc.integer({ min: 1, max: 5 }), fc.nat(), (id, peers, count, pick) => {
    const full = placeReplicas(id, peers, Infinity)
    const chosen = full.slice(0, count)
    const gone = chosen[pick % chosen.length]
    assert.deepEqual(placeReplicas(id, peers.filter(p => p !== gone), count), full.filter(p => p !== gone).slice(0, count))
  }))
})

test('load spreads roughly evenly over the nodes', () => {
  const peers = nodeIds(10)
  const chunks = 20_000
  const count = 2
  const load = new Map(peers.map(p => [p, 0]))
  for (let i = 0; i < chunks; i++) {
    for (const p of placeReplicas(chunkId(`chunk ${i}`), peers, count)) load.set(p, (load.get(p) ?? 0) + 1)
  }
  const expected = chunks * count / peers.length
  for (const [peer, n] of load) {
    // 4000 expected; a binomial's standard deviation here is ~57, so ±8 % is over 5 sigma.
    assert.ok(Math.abs(n - expected) / expected < 0.08, `${peer} got ${n}, expected ~${expected}`)
  }
})
