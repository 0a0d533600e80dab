// Direct messages, messages to all, history, and delivery to a node that was offline.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Harness, inbox, waitFor, waitForMesh, connectedTo } from '../net/helpers.ts'

test('a direct message arrives at its addressee only, with its exact text, sender and addressee', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  const c = await h.node({ name: 'c', bootstrap: [a.address] })
  await waitForMesh([a, b, c])
  const [ma, mb, mc] = await Promise.all([a, b, c].map(async n => await h.messenger(n)))
  const atB = inbox(mb)
  const atC = inbox(mc)

  const text = 'héllo b 👋\nsecond line'
  const sent = await ma.send(b.nodeId, text)
  assert.equal(sent.delivered, true)
  assert.equal(sent.to, b.nodeId)
  await waitFor('b gets the message', () => atB.length === 1)
  assert.deepEqual(atB[0], { id: sent.id, from: a.nodeId, to: b.nodeId, text, at: sent.at })
  assert.equal(atC.length, 0)
  assert.deepEqual(mb.history().map(m => m.text), [text])
  assert.deepEqual(ma.history().map(m => [m.from, m.to, m.text]), [[a.nodeId, b.nodeId, text]])
  assert.equal(mb.stats().received, 1)
})

test('a message to all reaches every node once, also a node not connected to the sender', async (t) => {
  const h = new Harness(t)
  // A line a - b - c without peer exchange: c only hears a through b.
  const a = await h.node({ name: 'a', peerExchange: false })
  const b = await h.node({ name: 'b', peerExchange: false, bootstrap: [a.address] })
  const c = await h.node({ name: 'c', peerExchange: false, bootstrap: [b.address] })
  await waitFor('the line a - b - c', () => connectedTo(b, a, c))
  assert.equal(connectedTo(a, c), false)
  const [ma, mb, mc] = await Promise.all([a, b, c].map(async n => await h.messenger(n)))
  const atB = inbox(mb)
  const atC = inbox(mc)
  const announcementsAtC: string[] = []
  mc.onAnnouncement(an => announcementsAtC.push(`${an.kind} ${an.from} ${JSON.stringify(an.data)}`))

  const sent = await ma.broadcast('to everyone')
  assert.equal(sent.to, '*')
  assert.equal(sent.deliveredTo, 1)
  await waitFor('b and c get the message to all', () => atB.length === 1 && atC.length === 1)
  for (const got of [atB[0], atC[0]]) assert.deepEqual(got, { id: sent.id, from: a.nodeId, to: '*', text: 'to everyone', at: sent.at })

  await ma.announce('file-stored', { owner: a.nodeId, bytes: 42 })
  await waitFor('c gets a\'s announcement', () => announcementsAtC.some(line => line.startsWith('file-stored')))
  assert.ok(announcementsAtC.includes(`file-stored ${a.nodeId} {"owner":"${a.nodeId}","bytes":42}`), announcementsAtC.join('\n'))
  // Copies that came back around were recognised, not delivered twice.
  assert.equal(atB.length, 1)
  assert.equal(atC.length, 1)
})

test('a message to an offline node is kept and delivered when it reconnects', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const ma = await h.messenger(a)
  let b = await h.node({ name: 'b', bootstrap: [a.address] })
  const bKey = b.privateKey
  const bDb = await h.database()
  let mb = await h.messenger(b, { db: bDb })
  await waitFor('a connected to b', () => connectedTo(a, b))
  await mb.stop()
  await b.network.stop()
  await waitFor('a sees b gone', () => !connectedTo(a, b))

  const first = await ma.send(b.nodeId, 'while you were away 1')
  const second = await ma.send(b.nodeId, 'while you were away 2')
  assert.equal(first.delivered, false)
  assert.equal(second.delivered, false)

  b = await h.node({ name: 'b', privateKey: bKey, bootstrap: [a.address] })
  mb = await h.messenger(b, { db: bDb })
  const atB = inbox(mb)
  await waitFor('b gets both kept messages', () => atB.length === 2)
  assert.deepEqual(atB.map(m => [m.id, m.from, m.text]), [[first.id, a.nodeId, 'while you were away 1'], [second.id, a.nodeId, 'while you were away 2']])
})
