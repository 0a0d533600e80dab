// The remembered peers file (net/peer-memory.ts): bounded to the most recently seen peers. A full
// file loaded at start and one more peer seen drops the one seen longest ago, not a recent one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import pino from 'pino'
import { MAX_REMEMBERED_PEERS, PeerMemory } from '../../src/net/peer-memory.ts'
import { tempDir } from '../helpers/fs.ts'

async function newPeerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

test('a full file plus one new peer keeps the most recently seen: the oldest is dropped, newest first on load', async (t) => {
  const file = join(await tempDir(t), 'peers.json')
  const now = Date.now()
  const peers = []
  for (let i = 0; i < MAX_REMEMBERED_PEERS; i++) {
    const id = await newPeerId()
    // Listed newest first; peer i was seen i minutes ago.
    peers.push({ id, addrs: [`/ip4/10.0.0.1/tcp/${1000 + i}`], seenAt: now - i * 60_000 })
  }
  await writeFile(file, JSON.stringify({ version: 1, peers }))
  const memory = new PeerMemory(file, pino({ level: 'silent' }), 60_000)
  const loaded = await memory.load(await newPeerId())
  assert.deepEqual(loaded.map(p => p.id), peers.map(p => p.id), 'newest first')

  const fresh = await newPeerId()
  memory.seen(fresh, [multiaddr(`/ip4/10.0.0.2/tcp/2000/p2p/${fresh}`)])
  await memory.flush()
  const saved = (JSON.parse(await readFile(file, 'utf8')) as { peers: Array<{ id: string }> }).peers.map(p => p.id)
  assert.equal(saved.length, MAX_REMEMBERED_PEERS)
  assert.ok(saved.includes(fresh))
  assert.ok(!saved.includes(peers[MAX_REMEMBERED_PEERS - 1].id), 'the peer seen longest ago is dropped')
  assert.ok(saved.includes(peers[0].id), 'the most recently seen one is kept')
})
