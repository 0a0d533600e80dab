// The recovery phrase is the whole identity: the same 24 words always give the same node ID and
// vault key, and identity.json (the seed, never the phrase) is readable by its owner only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deriveIdentity, hasIdentity, loadIdentity, newPhrase, normalizePhrase, phraseToSeed, saveIdentity } from '../../src/identity/index.ts'
import { tempDir } from '../helpers/fs.ts'
import { mnemonicToSeedSync } from '@scure/bip39'
import { randomBytes } from 'node:crypto'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { ed25519FromSeed } from '../../src/identity/keys.ts'

const badInput = { name: 'VaultError', code: 'BAD_INPUT' }

test('the seed is BIP-39\'s (PBKDF2-HMAC-SHA512 of the phrase): a pinned vector and @scure/bip39 agree', () => {
  // "abandon" ×23 + "art", no passphrase; the value @scure/bip39's mnemonicToSeedSync gives.
  const phrase = `${Array(23).fill('abandon').join(' ')} art`
  assert.equal(phraseToSeed(phrase).toString('hex'), '408b285c123836004f4b8842c89324c1f01382450c0d439af345ba7fc49acf705489c6fc77dbd4e3dc1dd8cc6bc9f043db8ada1e243c4a0eafb290d399480840')
  for (let i = 0; i < 3; i++) {
    const random = newPhrase()
    assert.ok(phraseToSeed(random).equals(Buffer.from(mnemonicToSeedSync(random))), random)
  }
})

test('the same recovery phrase always gives the same node ID and vault key', async () => {
  const phrase = newPhrase()
  assert.equal(phrase.split(' ').length, 24)
  const a = await deriveIdentity(phraseToSeed(phrase))
  const b = await deriveIdentity(phraseToSeed(phrase))
  assert.equal(a.nodeId, b.nodeId)
  assert.ok(a.vaultKey.equals(b.vaultKey))
  assert.equal(a.vaultKey.length, 32)
  assert.match(a.nodeId, /^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/)
  // Retyped with other spacing and capitals, it is still the same phrase.
  const retyped = `  ${phrase.toUpperCase().split(' ').join('  \n')}  `
  const c = await deriveIdentity(phraseToSeed(retyped))
  assert.equal(c.nodeId, a.nodeId)
  assert.ok(c.vaultKey.equals(a.vaultKey))
})

test('the node key is the one libp2p derives from the seed (a pinned node ID, and random seeds byte for byte): recovery finds the same folder', async () => {
  const phrase = `${Array(23).fill('abandon').join(' ')} art`
  assert.equal((await deriveIdentity(phraseToSeed(phrase))).nodeId, '12D3KooWNJMRCLfhBm2WKMMnAmCe7672dSBKtge9GkM4pVC1nVdD')
  for (let i = 0; i < 20; i++) {
    const seed = randomBytes(32)
    const ours = ed25519FromSeed(seed)
    const libp2p = await generateKeyPairFromSeed('Ed25519', seed)
    assert.ok(Buffer.from(ours.raw).equals(Buffer.from(libp2p.raw)), seed.toString('hex'))
    assert.ok(ours.publicKey.equals(libp2p.publicKey))
    const message = randomBytes(64)
    assert.ok(await libp2p.publicKey.verify(message, await ours.sign(message)))
  }
})

test('two different phrases give different node IDs and vault keys', async () => {
  const a = await deriveIdentity(phraseToSeed(newPhrase()))
  const b = await deriveIdentity(phraseToSeed(newPhrase()))
  assert.notEqual(a.nodeId, b.nodeId)
  assert.ok(!a.vaultKey.equals(b.vaultKey))
})

test('an invalid recovery phrase is refused with BAD_INPUT', () => {
  const words = newPhrase().split(' ')
  const swapped = [...words]
  // Swapping two different words almost always breaks the checksum; pick a pair that differs.
  const j = swapped.findIndex(w => w !== swapped[0])
  ;[swapped[0], swapped[j]] = [swapped[j], swapped[0]]
  const invalid = [
    '',
    words.slice(0, 23).join(' '),
    [...words, 'abandon'].join(' '),
    ['notaword', ...words.slice(1)].join(' '),
    newPhrase().split(' ').slice(0, 12).join(' ')
  ]
  for (const phrase of invalid) assert.throws(() => phraseToSeed(phrase), badInput, JSON.stringify(phrase))
  assert.throws(() => normalizePhrase(words.slice(0, 23).join(' ')), badInput)
  // A 12-word valid BIP-39 phrase is still not a distri-vault phrase.
  assert.throws(() => normalizePhrase('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'), badInput)
  // The checksum catches swapped words unless the swap happens to keep it valid (rare): compare with the original.
  try {
    const seed = phraseToSeed(swapped.join(' '))
    assert.ok(!seed.equals(phraseToSeed(words.join(' '))))
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'BAD_INPUT')
  }
})

test('identity.json is mode 0600, holds no phrase, and loads back to the same identity', async (t) => {
  const dir = await tempDir(t)
  const phrase = newPhrase()
  const saved = await saveIdentity(dir, phraseToSeed(phrase))
  const file = join(dir, 'identity.json')
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  const doc = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
  assert.deepEqual(Object.keys(doc).sort(), ['nodeId', 'seed', 'version'])
  assert.match(String(doc.seed), /^[0-9a-f]{128}$/)
  assert.equal(doc.nodeId, saved.nodeId)
  assert.ok(await hasIdentity(dir))
  const loaded = await loadIdentity(dir)
  assert.equal(loaded.nodeId, saved.nodeId)
  assert.ok(loaded.vaultKey.equals(saved.vaultKey))
})

test('loading an identity from an empty data dir says NOT_INITIALIZED', async (t) => {
  const dir = await tempDir(t)
  assert.equal(await hasIdentity(dir), false)
  await assert.rejects(loadIdentity(dir), { name: 'VaultError', code: 'NOT_INITIALIZED' })
})

test('a damaged or tampered identity.json is refused with CORRUPT', async (t) => {
  const dir = await tempDir(t)
  await saveIdentity(dir, phraseToSeed(newPhrase()))
  const file = join(dir, 'identity.json')
  const doc = JSON.parse(await readFile(file, 'utf8')) as { nodeId: string, seed: string }
  await writeFile(file, JSON.stringify({ ...doc, seed: (doc.seed[0] === 'a' ? 'b' : 'a') + doc.seed.slice(1) }))
  await assert.rejects(loadIdentity(dir), { name: 'VaultError', code: 'CORRUPT' })
  await writeFile(file, '{ not json')
  await assert.rejects(loadIdentity(dir), { name: 'VaultError', code: 'CORRUPT' })
})
