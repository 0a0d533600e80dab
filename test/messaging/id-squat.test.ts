// A message's ID is chosen by its sender, so it names a message only together with its sender. A
// member that learns another's ID (every member sees every message to all) and sends a message of
// its own, validly signed, under that ID first must not make the genuine one a "redelivery": it
// would be acked, not kept, not shown and (flooded) not forwarded, censored by whoever was faster.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { ANNOUNCE_PROTOCOL, FrameStream, MSG_PROTOCOL } from '../../src/protocols/index.ts'
import { messageSigningBytes, signBytes } from '../../src/messaging/signing.ts'
import { Harness, inbox, waitFor, connectedTo, type TestNode } from '../net/helpers.ts'

async function envelope (key: PrivateKey, fields: { id: string, from: string, to: string, text: string }): Promise<Record<string, string>> {
  const unsigned = { at: new Date().toISOString(), ...fields }
  return { ...unsigned, sig: await signBytes(key, messageSigningBytes(unsigned)) }
}

/** Sends one frame on `protocol` from `sender` to `target`; the reply, as text. */
async function sendRaw (sender: TestNode, target: TestNode, protocol: string, value: unknown): Promise<string> {
  const stream = await sender.network.libp2p.dialProtocol(peerIdFromString(target.nodeId), protocol)
  const frames = new FrameStream(stream, { maxFrameBytes: 1024 * 1024 })
  await frames.writeJson(value)
  const reply = await frames.readFrame({ signal: AbortSignal.timeout(3_000) })
  await frames.close()
  return reply == null ? '' : new TextDecoder().decode(reply)
}

test('a member that takes another sender\'s message ID first does not suppress the genuine message (to all, or direct)', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  const x = await h.node({ name: 'x', bootstrap: [a.address] })
  await waitFor('b and x connected to a', () => connectedTo(b, a) && connectedTo(x, a))
  const ma = await h.messenger(a)
  const atA = inbox(ma)

  // To all: x floods its own message under the ID b's message carries, before b's arrives.
  const id = randomBytes(12).toString('base64url')
  assert.match(await sendRaw(x, a, ANNOUNCE_PROTOCOL, { type: 'msg', hops: 1, message: await envelope(x.privateKey, { id, from: x.nodeId, to: '*', text: 'squatted' }) }), /"ok":true/)
  assert.match(await sendRaw(b, a, ANNOUNCE_PROTOCOL, { type: 'msg', hops: 1, message: await envelope(b.privateKey, { id, from: b.nodeId, to: '*', text: 'genuine to all' }) }), /"ok":true/)
  await waitFor('b\'s message to all', () => atA.some(m => m.from === b.nodeId && m.text === 'genuine to all'), { timeoutMs: 3_000 })

  // Direct: x sends a under the ID of b's next direct message; b's is acked, so it must be kept.
  const direct = randomBytes(12).toString('base64url')
  assert.match(await sendRaw(x, a, MSG_PROTOCOL, await envelope(x.privateKey, { id: direct, from: x.nodeId, to: a.nodeId, text: 'squatted direct' })), /"ok":true/)
  assert.match(await sendRaw(b, a, MSG_PROTOCOL, await envelope(b.privateKey, { id: direct, from: b.nodeId, to: a.nodeId, text: 'genuine direct' })), /"ok":true/)
  await waitFor('b\'s direct message', () => atA.some(m => m.from === b.nodeId && m.text === 'genuine direct'), { timeoutMs: 3_000 })

  // Both senders' messages are in the history; a true redelivery (same sender, same ID) is still one.
  assert.match(await sendRaw(b, a, MSG_PROTOCOL, await envelope(b.privateKey, { id: direct, from: b.nodeId, to: a.nodeId, text: 'genuine direct' })), /"ok":true/)
  assert.deepEqual(ma.history().map(m => m.text).sort(), ['genuine direct', 'genuine to all', 'squatted', 'squatted direct'])
  assert.equal(atA.length, 4)
})
