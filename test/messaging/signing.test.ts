// The signing scheme: canonical bytes, domain separation, keys bound to node IDs.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { announcementSigningBytes, canonicalJson, messageSigningBytes, signBytes, verifySignature } from '../../src/messaging/signing.ts'
import { SeenSet } from '../../src/messaging/seen-set.ts'

test('canonical JSON does not depend on key order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}')
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }))
})

test('a signature verifies only for its signer, its exact content and its kind of envelope', async () => {
  const key = await generateKeyPair('Ed25519')
  const from = peerIdFromPrivateKey(key).toString()
  const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const message = { id: 'abcdefgh12', from, to: other, text: 'hi', at: '2026-01-01T00:00:00.000Z' }
  const sig = await signBytes(key, messageSigningBytes(message))
  assert.equal(await verifySignature(from, messageSigningBytes(message), sig), true)
  assert.equal(await verifySignature(other, messageSigningBytes(message), sig), false)
  assert.equal(await verifySignature(from, messageSigningBytes({ ...message, text: 'hi!' }), sig), false)
  assert.equal(await verifySignature(from, messageSigningBytes({ ...message, to: '*' }), sig), false)
  assert.equal(await verifySignature('not-a-peer-id', messageSigningBytes(message), sig), false)
  assert.equal(await verifySignature(from, messageSigningBytes(message), 'AAAA'), false)
  // The same fields signed as a message do not pass as an announcement.
  const announcement = { id: message.id, from, kind: 'hi', data: {}, at: message.at }
  assert.equal(await verifySignature(from, announcementSigningBytes(announcement), sig), false)
})

test('signatures are libp2p\'s Ed25519 signatures, byte for byte, and verify both ways with its keys', async () => {
  for (let i = 0; i < 5; i++) {
    const key = await generateKeyPair('Ed25519')
    const from = peerIdFromPrivateKey(key).toString()
    const bytes = randomBytes(1 + i * 97)
    const ours = await signBytes(key, bytes)
    assert.equal(ours, Buffer.from(await key.sign(bytes)).toString('base64'), 'Ed25519 is deterministic: the same bytes')
    assert.equal(await key.publicKey.verify(bytes, Buffer.from(ours, 'base64')), true)
    assert.equal(await verifySignature(from, bytes, Buffer.from(await key.sign(bytes)).toString('base64')), true)
    assert.equal(await verifySignature(from, bytes, ours), true, 'again, from the cached key')
    const flipped = Buffer.from(ours, 'base64')
    flipped[i] ^= 1
    assert.equal(await verifySignature(from, bytes, flipped.toString('base64')), false)
  }
})

test('the seen-set remembers within its bounds and forgets the oldest first', () => {
  const seen = new SeenSet(3, 1_000)
  assert.equal(seen.add('a', 0), true)
  assert.equal(seen.add('a', 10), false)
  seen.add('b', 20)
  seen.add('c', 30)
  seen.add('d', 40)
  assert.equal(seen.size, 3)
  assert.equal(seen.add('a', 50), true, 'the oldest was forgotten to make room')
  assert.equal(seen.add('d', 2_000), true, 'entries expire')
})
