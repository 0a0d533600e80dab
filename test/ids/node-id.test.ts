// A node ID has one spelling: the base58btc form of its Ed25519 key. libp2p also parses the same key
// from its CID forms (base32 'bafz…', base36 'k51…'); one of those that happened to fit the old
// shape check was a second name for the same node: its own flood-rate budget, its own folder.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { isNodeId, nodeIdSchema, parseNodeId } from '../../src/ids/index.ts'

test('only the canonical base58btc spelling of an Ed25519 node ID is a node ID, not its CID forms', async () => {
  // About one key in six has a base32 CID form that uses no letter outside base58's alphabet.
  let alias: string | undefined
  let canonical = ''
  for (let i = 0; i < 500 && alias === undefined; i++) {
    const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    canonical = peerId.toString()
    const cid = peerId.toCID().toString()
    if (/^[1-9A-HJ-NP-Za-km-z]{20,80}$/.test(cid)) alias = cid
  }
  assert.ok(alias !== undefined, 'found a key whose CID form fits base58 letters')
  assert.equal(peerIdFromString(alias).toString(), canonical, 'libp2p reads the alias as the same node')
  assert.equal(isNodeId(canonical), true)
  assert.equal(isNodeId(alias), false, `${alias} is another spelling of ${canonical}`)
  assert.equal(nodeIdSchema.safeParse(alias).success, false)
  assert.throws(() => parseNodeId(alias), { code: 'BAD_INPUT' })
  for (const bad of ['', '12D3KooW', `${canonical}1`, canonical.slice(0, -1), canonical.replace('12D3KooW', '12D3KooX'), '../' + canonical.slice(3)]) {
    assert.equal(isNodeId(bad), false, bad)
  }
})
