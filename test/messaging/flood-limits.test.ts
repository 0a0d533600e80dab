// One member's flood of messages is cut to its sender's rate at every node, and never costs an
// honest sender a message: queues are fair per sender.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DeliveryQueues } from '../../src/messaging/delivery-queues.ts'
import { SenderRateLimiter } from '../../src/messaging/index.ts'
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { ANNOUNCE_MAX_FRAME_BYTES, ANNOUNCE_PROTOCOL, FloodAck, requestJson } from '../../src/protocols/index.ts'
import { messageSigningBytes, signBytes } from '../../src/messaging/signing.ts'
import { Harness, inbox, waitFor, waitForMesh, type TestNode } from '../net/helpers.ts'

/** A hostile member's flood: signed messages to all, sent straight to `to` on many streams at
 * once (no messenger of its own, so nothing of it slows the test process but the sending). */
async function flood (from: TestNode, to: TestNode, count: number, parallel = 16): Promise<void> {
  const connection = from.network.libp2p.getConnections(peerIdFromString(to.nodeId))[0]
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const unsigned = { id: randomBytes(12).toString('base64url'), from: from.nodeId, to: '*', text: `flood ${next++}`, at: new Date().toISOString() }
      const message = { ...unsigned, sig: await signBytes(from.privateKey, messageSigningBytes(unsigned)) }
      await requestJson(connection, ANNOUNCE_PROTOCOL, { type: 'msg', hops: 0, message }, FloodAck, { maxFrameBytes: ANNOUNCE_MAX_FRAME_BYTES, timeoutMs: 5_000 })
        .catch(() => undefined)
    }
  }))
}

test('a flooding member is limited to its rate while every broadcast of an honest member arrives', async (t) => {
  const h = new Harness(t)
  const receiver = await h.node({ name: 'receiver' })
  const flooder = await h.node({ name: 'flooder', bootstrap: [receiver.address] })
  const honest = await h.node({ name: 'honest', bootstrap: [receiver.address] })
  await waitForMesh([receiver, flooder, honest])
  const rate = { burst: 20, perSecond: 5 }
  const mr = await h.messenger(receiver, { senderRate: rate })
  const mh = await h.messenger(honest)
  const atReceiver = inbox(mr)

  const started = Date.now()
  const flooding = flood(flooder, receiver, 500)
  const honestTexts = Array.from({ length: 15 }, (_, i) => `honest ${i}`)
  const sent = await Promise.all(honestTexts.map(async text => await mh.broadcast(text)))
  assert.ok(sent.every(s => s.deliveredTo >= 1), 'every honest broadcast was taken by the receiver')
  await flooding
  await waitFor('every honest broadcast at the receiver', () => honestTexts.every(text => atReceiver.some(m => m.text === text)), { timeoutMs: 15_000 })
  const seconds = (Date.now() - started) / 1000

  const fromFlooder = atReceiver.filter(m => m.from === flooder.nodeId).length
  assert.ok(fromFlooder <= rate.burst + Math.ceil(rate.perSecond * seconds) + 1, `${fromFlooder} flooded messages accepted in ${seconds.toFixed(1)} s`)
  assert.ok(fromFlooder >= rate.burst, 'the burst passes')
  const { dropped } = mr.stats()
  t.diagnostic(`${fromFlooder} of 500 flooded messages accepted in ${seconds.toFixed(1)} s, ${dropped.rateLimited} dropped as rate-limited; ${honestTexts.length} of ${honestTexts.length} honest broadcasts arrived`)
  assert.ok(dropped.rateLimited >= 500 - fromFlooder - 25, `${dropped.rateLimited} counted as rate-limited`)
  assert.equal(atReceiver.filter(m => m.from === honest.nodeId).length, honestTexts.length)
})

test('a sender\'s bucket holds a burst and refills at its rate; senders do not share one', () => {
  const limiter = new SenderRateLimiter({ burst: 3, perSecond: 2 })
  const t0 = 1_000_000
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a', t0)), [true, true, true, false])
  assert.equal(limiter.take('b', t0), true, 'another sender has its own bucket')
  assert.equal(limiter.take('a', t0 + 400), false, '0.8 tokens after 400 ms')
  assert.equal(limiter.take('a', t0 + 500), true, 'one token after 500 ms')
  assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a', t0 + 60_000)), [true, true, true, false], 'never more than the burst')
})

test('a full wait list drops from the longest lane, so a flood never starves another sender', async () => {
  const queues = new DeliveryQueues({ concurrencyPerPeer: 1, maxWaitingPerPeer: 10, timeoutMs: 5_000 })
  let unblock!: () => void
  const blocker = queues.submit('peer', async () => { await new Promise<void>(resolve => { unblock = resolve }); return true }, 'flood')
  const order: string[] = []
  const task = (name: string) => async () => { order.push(name); return true }
  const flood = Array.from({ length: 30 }, async (_, i) => await queues.submit('peer', task(`f${i}`), 'flood'))
  const honest = Array.from({ length: 4 }, async (_, i) => await queues.submit('peer', task(`h${i}`), 'honest'))
  unblock()
  assert.equal(await blocker, true)
  assert.deepEqual(await Promise.all(honest), [true, true, true, true], 'every honest send ran')
  const floodResults = await Promise.all(flood)
  assert.equal(floodResults.filter(Boolean).length, 6, 'the flood kept what was left of the wait list')
  // Served in turn: the honest lane did not wait behind the whole flood.
  assert.ok(order.indexOf('h3') < 8, order.join(' '))
  queues.stop()
})
