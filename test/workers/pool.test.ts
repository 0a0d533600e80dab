// The byte workers: a job done on a worker thread gives exactly what the inline code gives, a
// buffer handed over with `consume` moves (the caller's copy is emptied, nothing else is touched),
// one not handed over is left as it was, and errors cross the thread with their codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { openChunk, randomKey, sealChunk, sha256Hex, sha256Keep } from '../../src/crypto/index.ts'
import { openChunkSync, sealChunkSync } from '../../src/crypto/chunk-cipher.ts'
import { offloads } from '../../src/workers/index.ts'

const BIG = 1024 * 1024 + 17 // over the inline threshold: runs on a worker
const needsWorkers = { skip: process.env.DV_WORKERS === '0' ? 'worker threads turned off' : false }

test('a chunk sealed on a worker is byte for byte the chunk sealed inline, and opens back', needsWorkers, async () => {
  assert.ok(offloads(BIG), 'this size goes to a worker')
  const key = randomKey()
  const plain = randomBytes(BIG)
  const inline = sealChunkSync(key, plain)
  const onWorker = await sealChunk(key, plain)
  assert.equal(onWorker.id, inline.id)
  assert.equal(onWorker.key, inline.key)
  assert.ok(onWorker.sealed.equals(inline.sealed))
  assert.equal(onWorker.id, sha256Hex(onWorker.sealed))
  assert.ok((await openChunk(onWorker.id, onWorker.key, onWorker.sealed)).equals(plain))
  assert.ok(openChunkSync(onWorker.id, onWorker.key, onWorker.sealed).equals(plain))
})

test('consume moves a whole buffer to the worker; a view or a kept buffer is copied and left intact', needsWorkers, async () => {
  const key = randomKey()
  const original = randomBytes(BIG)
  const expected = sealChunkSync(key, original).id

  const kept = Buffer.from(original)
  assert.equal((await sealChunk(key, kept)).id, expected)
  assert.ok(kept.equals(original), 'not consumed: the caller keeps its bytes')

  const moved = Buffer.alloc(BIG)
  original.copy(moved)
  assert.equal((await sealChunk(key, moved, { consume: true })).id, expected)
  assert.equal(moved.length, 0, 'consumed: the memory went to the worker')

  const parent = Buffer.concat([randomBytes(100), original, randomBytes(100)])
  const view = parent.subarray(100, 100 + BIG)
  assert.equal((await sealChunk(key, view, { consume: true })).id, expected)
  assert.equal(parent.length, BIG + 200, 'a view into a bigger buffer is copied, never moved')
  assert.ok(parent.subarray(100, 100 + BIG).equals(original))
})

test('errors from a worker keep their codes; sha256Keep hands the same bytes back', async () => {
  const sealed = await sealChunk(randomKey(), randomBytes(BIG))
  await assert.rejects(openChunk(sealed.id, randomKey().toString('hex'), sealed.sealed), { name: 'VaultError', code: 'CORRUPT' })
  const tampered = Buffer.from(sealed.sealed)
  tampered[500] ^= 1
  await assert.rejects(openChunk(sealed.id, sealed.key, tampered), { name: 'VaultError', code: 'CORRUPT' })

  const data = randomBytes(BIG)
  const copy = Buffer.from(data)
  const kept = await sha256Keep(copy)
  assert.equal(kept.hex, sha256Hex(data))
  assert.ok(kept.data.equals(data))
})

test('many jobs at once all come back, each with its own result', async () => {
  const key = randomKey()
  const plains = Array.from({ length: 12 }, () => randomBytes(256 * 1024))
  const sealed = await Promise.all(plains.map(async (p) => await sealChunk(key, Buffer.from(p), { consume: true })))
  const opened = await Promise.all(sealed.map(async (s) => await openChunk(s.id, s.key, s.sealed, { consume: true })))
  opened.forEach((o, i) => assert.ok(o.equals(plains[i]), `chunk ${i}`))
})
