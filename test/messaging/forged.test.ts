// Forged, oversized and malformed envelopes are dropped and counted, and never reach a subscriber;
// genuine messages from the same peer still do.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { ANNOUNCE_PROTOCOL, FrameStream, MSG_PROTOCOL } from '../../src/protocols/index.ts'
import { messageSigningBytes, signBytes } from '../../src/messaging/signing.ts'
import { Harness, inbox, waitFor, connectedTo, type TestNode } from '../net/helpers.ts'

async function envelope (key: PrivateKey, fields: { from: string, to: string, text: string }): Promise<Record<string, string>> {
  const unsigned = { id: randomBytes(12).toString('base64url'), at: new Date().toISOString(), ...fields }
  return { ...unsigned, sig: await signBytes(key, messageSigningBytes(unsigned)) }
}

/** Sends one raw frame on `protocol` from `sender` to `target`; the reply frame, or null. */
async function sendRaw (sender: TestNode, target: TestNode, protocol: string, payload: Uint8Array): Promise<string | null> {
  const stream = await sender.network.libp2p.dialProtocol(peerIdFromString(target.nodeId), protocol)
  const frames = new FrameStream(stream, { maxFrameBytes: 1024 * 1024 })
  try {
    await frames.writeFrame(payload)
    const reply = await frames.readFrame({ signal: AbortSignal.timeout(3_000) })
    await frames.close()
    return reply == null ? null : new TextDecoder().decode(reply)
  } catch {
    return null
  }
}

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

test('forged, oversized and malformed messages are dropped and counted, never delivered', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b' })
  const x = await h.node({ name: 'x', bootstrap: [a.address] })
  await waitFor('x connected to a', () => connectedTo(x, a))
  const ma = await h.messenger(a)
  const atA = inbox(ma)
  const otherKey = await generateKeyPair('Ed25519')

  // Signed by another key than the sender's.
  const badSignature = await envelope(otherKey, { from: x.nodeId, to: a.nodeId, text: 'forged 1' })
  assert.match(await sendRaw(x, a, MSG_PROTOCOL, json(badSignature)) ?? '', /"ok":false/)
  // Validly signed by x, but claiming to come from b.
  const impersonation = await envelope(x.privateKey, { from: b.nodeId, to: a.nodeId, text: 'forged 2' })
  await sendRaw(x, a, MSG_PROTOCOL, json(impersonation))
  // Correctly signed by b's key but handed over by x: direct messages come from their signer.
  const relayed = await envelope(b.privateKey, { from: b.nodeId, to: a.nodeId, text: 'forged 3' })
  await sendRaw(x, a, MSG_PROTOCOL, json(relayed))
  // A message to all whose text was changed after signing.
  const tampered = { ...await envelope(x.privateKey, { from: x.nodeId, to: '*', text: 'original' }), text: 'tampered' }
  await sendRaw(x, a, ANNOUNCE_PROTOCOL, json({ type: 'msg', hops: 0, message: tampered }))
  await waitFor('four forgeries counted', () => ma.stats().dropped.forged === 4)

  // 64 KiB + 1 byte of text, properly signed; and a frame over the frame limit.
  const tooLong = await envelope(x.privateKey, { from: x.nodeId, to: a.nodeId, text: 'x'.repeat(64 * 1024 + 1) })
  await sendRaw(x, a, MSG_PROTOCOL, json(tooLong))
  await sendRaw(x, a, MSG_PROTOCOL, randomBytes(200 * 1024))
  await waitFor('two oversized counted', () => ma.stats().dropped.oversized === 2)

  // Not JSON; JSON of the wrong shape; a valid message addressed to someone else.
  await sendRaw(x, a, MSG_PROTOCOL, randomBytes(100))
  await sendRaw(x, a, MSG_PROTOCOL, json({ hello: 'world' }))
  await sendRaw(x, a, MSG_PROTOCOL, json(await envelope(x.privateKey, { from: x.nodeId, to: b.nodeId, text: 'not for a' })))
  await waitFor('three malformed counted', () => ma.stats().dropped.malformed === 3)

  // After all that, a genuine message from x still gets through, and it is the only one a saw.
  const mx = await h.messenger(x)
  const sent = await mx.send(a.nodeId, 'genuine')
  assert.equal(sent.delivered, true)
  await waitFor('the genuine message', () => atA.length === 1)
  assert.deepEqual(atA.map(m => [m.from, m.text]), [[x.nodeId, 'genuine']])
  assert.deepEqual(ma.history().map(m => m.text), ['genuine'])
  const stats = ma.stats()
  assert.deepEqual([stats.received, stats.dropped], [1, { forged: 4, oversized: 2, malformed: 3, stale: 0, rateLimited: 0 }])
  assert.ok(a.logs.lines.some(line => line.level === 40 && line.msg === 'dropped a direct message' && line.verdict === 'forged'))
})

test('sending validates its input', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const ma = await h.messenger(a)
  await assert.rejects(ma.send('not-a-node-id', 'hi'), { code: 'BAD_INPUT' })
  await assert.rejects(ma.send(a.nodeId, 'hi'), { code: 'BAD_INPUT' })
  const bId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  await assert.rejects(ma.send(bId, 'x'.repeat(64 * 1024 + 1)), { code: 'TOO_LARGE' })
  await assert.rejects(ma.send(bId, ''), { code: 'BAD_INPUT' })
  await assert.rejects(ma.announce('Bad Kind', {}), { code: 'BAD_INPUT' })
  const offline = await ma.send(bId, 'x'.repeat(64 * 1024))
  assert.equal(offline.delivered, false)
})
