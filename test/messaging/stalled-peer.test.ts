// A peer that stops reading costs its own deliveries a timeout, never anyone else's.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MSG_PROTOCOL, ANNOUNCE_PROTOCOL } from '../../src/protocols/index.ts'
import { Harness, connectedTo, inbox, waitFor } from '../net/helpers.ts'

test('a peer that never reads does not hold up messages to the others', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  const stalled = await h.node({ name: 'stalled', bootstrap: [a.address] })
  await waitFor('a connected to b and the stalled peer', () => connectedTo(a, b, stalled))
  // The stalled peer accepts streams and then never reads from them nor answers.
  const held: Array<{ abort: (err: Error) => void }> = []
  for (const protocol of [MSG_PROTOCOL, ANNOUNCE_PROTOCOL]) {
    await stalled.network.libp2p.handle(protocol, (stream) => { stream.pause(); held.push(stream) })
  }
  h.onCleanup(() => { for (const stream of held) stream.abort(new Error('test over')) })
  const [ma, mb] = [await h.messenger(a, { timing: { deliveryTimeoutMs: 2_000 } }), await h.messenger(b)]
  const atB = inbox(mb)

  let stalledSettled = 0
  const toStalled = Array.from({ length: 20 }, async (_, i) => {
    const result = await ma.send(stalled.nodeId, `stuck ${i}`)
    stalledSettled++
    return result
  })
  const toB = await ma.send(b.nodeId, 'not stuck')
  assert.equal(toB.delivered, true)
  assert.equal(stalledSettled, 0, 'b got its message while the sends to the stalled peer were still waiting')
  await waitFor('b gets its message', () => atB.some(m => m.text === 'not stuck'))

  const results = await Promise.all(toStalled)
  assert.ok(results.every(r => !r.delivered), 'nothing counts as delivered to a peer that never acks')
  assert.equal(ma.history({ limit: 1000 }).filter(m => m.to === stalled.nodeId).length, 20)

  const all = await ma.broadcast('to all')
  assert.equal(all.deliveredTo, 1)
  await waitFor('b gets the message to all', () => atB.some(m => m.text === 'to all'))
})
