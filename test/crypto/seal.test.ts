// Chunk and manifest sealing: nothing opens without the right key, any flipped bit is caught,
// and convergent chunk IDs dedup within one owner but never across owners.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  MANIFEST_HEADER_BYTES, open, openChunk, openManifest, randomKey, seal, sealChunk, sealManifest, sha256Hex, unwrapReadKey
} from '../../src/crypto/index.ts'

const corrupt = { name: 'VaultError', code: 'CORRUPT' }

function flipByte (data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data)
  copy[at] ^= 0x01
  return copy
}

test('a sealed chunk opens to its plaintext and does not contain it', async () => {
  const plain = Buffer.from('the quick brown fox '.repeat(100))
  const chunk = await sealChunk(randomKey(), plain)
  assert.ok((await openChunk(chunk.id, chunk.key, chunk.sealed)).equals(plain))
  assert.equal(chunk.id, sha256Hex(chunk.sealed))
  assert.equal(chunk.size, plain.length)
  assert.equal(chunk.sealed.indexOf('quick brown'), -1)
})

test('a flipped byte anywhere in a sealed chunk is reported as CORRUPT', async () => {
  const chunk = await sealChunk(randomKey(), randomBytes(5000))
  const last = chunk.sealed.length - 1
  for (const at of [0, 1, 13, 2500, last - 16, last]) {
    const tampered = flipByte(chunk.sealed, at)
    // Caught by the hash when the ID is the original one...
    await assert.rejects(openChunk(chunk.id, chunk.key, tampered), corrupt, `byte ${at} vs. ID`)
    // ...and by the format byte or the AEAD tag even when the attacker also fixes up the ID.
    await assert.rejects(openChunk(sha256Hex(tampered), chunk.key, tampered), corrupt, `byte ${at} vs. tag`)
  }
})

test('a truncated sealed chunk is reported as CORRUPT', async () => {
  const chunk = await sealChunk(randomKey(), randomBytes(100))
  for (const cut of [chunk.sealed.subarray(0, 10), chunk.sealed.subarray(0, chunk.sealed.length - 1), Buffer.alloc(0)]) {
    await assert.rejects(openChunk(sha256Hex(cut), chunk.key, cut), corrupt)
  }
})

test('a chunk opened with the wrong key is reported as CORRUPT', async () => {
  const chunk = await sealChunk(randomKey(), randomBytes(1000))
  const other = await sealChunk(randomKey(), randomBytes(1000))
  await assert.rejects(openChunk(chunk.id, other.key, chunk.sealed), corrupt)
  await assert.rejects(openChunk(chunk.id, randomKey().toString('hex'), chunk.sealed), corrupt)
})

test('the same content under one vault key seals to the same chunk ID (dedup)', async () => {
  const vaultKey = randomKey()
  const plain = randomBytes(4096)
  const a = await sealChunk(vaultKey, plain)
  const b = await sealChunk(vaultKey, Buffer.from(plain))
  assert.equal(a.id, b.id)
  assert.equal(a.key, b.key)
  assert.ok(a.sealed.equals(b.sealed))
  assert.notEqual((await sealChunk(vaultKey, randomBytes(4096))).id, a.id, 'different content, different ID')
})

test('the same content under two vault keys shares neither chunk ID, key nor ciphertext', async () => {
  const plain = randomBytes(4096)
  const a = await sealChunk(randomKey(), plain)
  const b = await sealChunk(randomKey(), plain)
  assert.notEqual(a.id, b.id)
  assert.notEqual(a.key, b.key)
  assert.ok(!a.sealed.subarray(1, 64).equals(b.sealed.subarray(1, 64)))
})

test('an empty chunk seals and opens', async () => {
  const chunk = await sealChunk(randomKey(), Buffer.alloc(0))
  assert.equal((await openChunk(chunk.id, chunk.key, chunk.sealed)).length, 0)
})

test('a manifest opens with its read key and the owner recovers that read key with the vault key', async () => {
  const vaultKey = randomKey()
  const manifest = { v: 1, name: 'secret-name.txt', chunks: [] }
  const sealed = sealManifest(vaultKey, manifest)
  assert.equal(sealed.id, sha256Hex(sealed.sealed))
  assert.deepEqual(openManifest(sealed.id, Buffer.from(sealed.readKey, 'hex'), sealed.sealed), manifest)
  const readKey = unwrapReadKey(vaultKey, sealed.sealed.subarray(0, MANIFEST_HEADER_BYTES))
  assert.equal(readKey?.toString('hex'), sealed.readKey)
  assert.equal(sealed.sealed.indexOf('secret-name'), -1)
})

test('sealing one manifest twice gives two different blobs (a fresh read key per file)', async () => {
  const vaultKey = randomKey()
  const a = sealManifest(vaultKey, { v: 1 })
  const b = sealManifest(vaultKey, { v: 1 })
  assert.notEqual(a.id, b.id)
  assert.notEqual(a.readKey, b.readKey)
})

test('a manifest opened with the wrong read key, or tampered with, is reported as CORRUPT', async () => {
  const sealed = sealManifest(randomKey(), { v: 1, name: 'x' })
  assert.throws(() => openManifest(sealed.id, randomKey(), sealed.sealed), corrupt)
  const tampered = flipByte(sealed.sealed, sealed.sealed.length - 3)
  assert.throws(() => openManifest(sealed.id, Buffer.from(sealed.readKey, 'hex'), tampered), corrupt)
  assert.throws(() => openManifest(sha256Hex(tampered), Buffer.from(sealed.readKey, 'hex'), tampered), corrupt)
  const short = sealed.sealed.subarray(0, MANIFEST_HEADER_BYTES - 1)
  assert.throws(() => openManifest(sha256Hex(short), Buffer.from(sealed.readKey, 'hex'), short), corrupt)
})

test('a chunk blob, another owner\'s manifest or a short header is not recognised as a manifest', async () => {
  const vaultKey = randomKey()
  const chunk = await sealChunk(vaultKey, randomBytes(MANIFEST_HEADER_BYTES * 4))
  assert.equal(unwrapReadKey(vaultKey, chunk.sealed.subarray(0, MANIFEST_HEADER_BYTES)), null)
  const foreign = sealManifest(randomKey(), { v: 1 })
  assert.equal(unwrapReadKey(vaultKey, foreign.sealed.subarray(0, MANIFEST_HEADER_BYTES)), null)
  const own = sealManifest(vaultKey, { v: 1 })
  assert.equal(unwrapReadKey(vaultKey, own.sealed.subarray(0, MANIFEST_HEADER_BYTES - 1)), null)
  assert.equal(unwrapReadKey(vaultKey, flipByte(own.sealed, 5).subarray(0, MANIFEST_HEADER_BYTES)), null)
})

test('generic sealing authenticates its associated data', async () => {
  const key = randomKey()
  const sealed = seal(key, Buffer.from('hello'), Buffer.from('aad-1'))
  assert.equal(open(key, sealed, Buffer.from('aad-1')).toString(), 'hello')
  assert.throws(() => open(key, sealed, Buffer.from('aad-2')), corrupt)
  assert.throws(() => open(key, sealed), corrupt)
  assert.throws(() => open(key, sealed.subarray(0, 27)), corrupt)
})

test('a chunk sealed on a worker thread is standard AES-256-GCM: createDecipheriv opens it too', async () => {
  const plain = randomBytes(70_000)
  const chunk = await sealChunk(randomKey(), plain)
  // [format 1][nonce 12][ciphertext][tag 16], the format byte as AAD: the layout aead.open reads.
  assert.ok(open(Buffer.from(chunk.key, 'hex'), chunk.sealed.subarray(1), chunk.sealed.subarray(0, 1)).equals(plain))
  assert.equal(chunk.id, sha256Hex(chunk.sealed))
})
