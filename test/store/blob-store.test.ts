// The blob store: content-addressed, atomic, verified on every read, and never tricked into a
// path outside storage/<owner id>/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { BlobStore } from '../../src/store/index.ts'
import { sha256Hex } from '../../src/crypto/index.ts'
import { flipByte, listFiles, tempDir, type Cleanup } from '../helpers/fs.ts'

const OWNER_A = '12D3KooWCBuyAyFWJYKQ2tz6VcFxtq9feZ4VcC12RCpgyfF96D9q'
const OWNER_B = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
const badInput = { name: 'VaultError', code: 'BAD_INPUT' }

async function newStore (t: Cleanup): Promise<{ dir: string, store: BlobStore }> {
  const dir = await tempDir(t)
  const store = new BlobStore(join(dir, 'storage'))
  await store.start()
  return { dir, store }
}

function blob (bytes = 1000): { id: string, data: Buffer } {
  const data = randomBytes(bytes)
  return { id: sha256Hex(data), data }
}

test('a stored blob reads back byte-equal from storage/<owner>/<2 hex>/<2 hex>/<id>, with no temp file left', async (t) => {
  const { dir, store } = await newStore(t)
  const b = blob()
  await store.put(OWNER_A, b.id, b.data)
  const path = join(dir, 'storage', OWNER_A, b.id.slice(0, 2), b.id.slice(2, 4), b.id)
  assert.equal(store.pathOf(OWNER_A, b.id), path)
  assert.equal((await stat(path)).size, b.data.length)
  assert.ok((await store.get(OWNER_A, b.id)).equals(b.data))
  assert.ok(await store.has(OWNER_A, b.id))
  assert.deepEqual(await readdir(join(dir, 'storage', '.tmp')), [])
  assert.deepEqual(await listFiles(join(dir, 'storage')), [path])
})

test('storing the same blob twice keeps one file and counts its bytes once', async (t) => {
  const { store } = await newStore(t)
  const b = blob(777)
  await Promise.all([store.put(OWNER_A, b.id, b.data), store.put(OWNER_A, b.id, b.data)])
  await store.put(OWNER_A, b.id, b.data)
  assert.deepEqual(store.usage(), { [OWNER_A]: 777 })
  const ids = []
  for await (const id of store.list(OWNER_A)) ids.push(id)
  assert.deepEqual(ids, [b.id])
})

test('a blob whose bytes do not match its ID is refused with CORRUPT and nothing is stored', async (t) => {
  const { dir, store } = await newStore(t)
  const b = blob()
  await assert.rejects(store.put(OWNER_A, b.id, randomBytes(1000)), { name: 'VaultError', code: 'CORRUPT' })
  assert.equal(await store.has(OWNER_A, b.id), false)
  assert.deepEqual(await listFiles(join(dir, 'storage')), [])
})

test('a byte flipped on disk makes get fail with CORRUPT instead of returning bad data', async (t) => {
  const { store } = await newStore(t)
  const b = blob(4096)
  await store.put(OWNER_A, b.id, b.data)
  await flipByte(store.pathOf(OWNER_A, b.id), 2000, 0x80)
  await assert.rejects(store.get(OWNER_A, b.id), { name: 'VaultError', code: 'CORRUPT' })
})

test('a blob that is not stored is NOT_FOUND', async (t) => {
  const { store } = await newStore(t)
  await assert.rejects(store.get(OWNER_A, blob().id), { name: 'VaultError', code: 'NOT_FOUND' })
  assert.equal(await store.has(OWNER_A, blob().id), false)
})

test('owner IDs and blob IDs that try to escape the storage folder are refused with BAD_INPUT', async (t) => {
  const { dir, store } = await newStore(t)
  const b = blob()
  const badOwners = ['../x', '..', '/etc', '/tmp/evil', 'a/b', `${OWNER_A}/..`, '', '.tmp', `..\\${OWNER_A}`, `${OWNER_A}\u0000`]
  for (const owner of badOwners) {
    await assert.rejects(store.put(owner, b.id, b.data), badInput, `put owner ${JSON.stringify(owner)}`)
    await assert.rejects(store.get(owner, b.id), badInput, `get owner ${JSON.stringify(owner)}`)
    await assert.rejects(store.delete(owner, b.id), badInput, `delete owner ${JSON.stringify(owner)}`)
    await assert.rejects(store.list(owner).next(), badInput, `list owner ${JSON.stringify(owner)}`)
  }
  const badIds = ['../x', '../../../../etc/passwd', '/etc/passwd', b.id.toUpperCase(), b.id.slice(1), `${b.id}0`, `../${b.id.slice(3)}`, '']
  for (const id of badIds) {
    await assert.rejects(store.put(OWNER_A, id, b.data, true), badInput, `put id ${JSON.stringify(id)}`)
    await assert.rejects(store.get(OWNER_A, id), badInput, `get id ${JSON.stringify(id)}`)
    await assert.rejects(store.delete(OWNER_A, id), badInput, `delete id ${JSON.stringify(id)}`)
    await assert.rejects(store.head(OWNER_A, id, 10), badInput, `head id ${JSON.stringify(id)}`)
  }
  assert.deepEqual(await listFiles(dir), [])
})

test('usage counts the bytes held per owner, drops them after delete, and survives a restart', async (t) => {
  const { dir, store } = await newStore(t)
  const [a1, a2, b1] = [blob(1000), blob(2500), blob(300)]
  await store.put(OWNER_A, a1.id, a1.data)
  await store.put(OWNER_A, a2.id, a2.data)
  await store.put(OWNER_B, b1.id, b1.data)
  assert.deepEqual(store.usage(), { [OWNER_A]: 3500, [OWNER_B]: 300 })

  const restarted = new BlobStore(join(dir, 'storage'))
  await restarted.start()
  assert.deepEqual(restarted.usage(), { [OWNER_A]: 3500, [OWNER_B]: 300 })

  assert.equal(await store.delete(OWNER_A, a1.id), true)
  assert.deepEqual(store.usage(), { [OWNER_A]: 2500, [OWNER_B]: 300 })
  assert.equal(await store.delete(OWNER_B, b1.id), true)
  assert.deepEqual(store.usage(), { [OWNER_A]: 2500 })
  assert.equal(await store.has(OWNER_B, b1.id), false)
  assert.equal(await store.delete(OWNER_B, b1.id), false, 'deleting twice reports nothing deleted')
  assert.deepEqual(store.usage(), { [OWNER_A]: 2500 })
})

test('a delete that a put still wants is skipped and the blob stays readable', async (t) => {
  const { store } = await newStore(t)
  const b = blob()
  await store.put(OWNER_A, b.id, b.data)
  assert.equal(await store.delete(OWNER_A, b.id, () => true), false)
  assert.ok((await store.get(OWNER_A, b.id)).equals(b.data))
  assert.equal(await store.delete(OWNER_A, b.id, () => false), true)
  assert.equal(await store.has(OWNER_A, b.id), false)
})

test('list gives every blob of one owner and nothing of another', async (t) => {
  const { store } = await newStore(t)
  const mine = Array.from({ length: 20 }, () => blob(50))
  for (const b of mine) await store.put(OWNER_A, b.id, b.data)
  const theirs = blob(50)
  await store.put(OWNER_B, theirs.id, theirs.data)
  const listed = []
  for await (const id of store.list(OWNER_A)) listed.push(id)
  assert.deepEqual(listed.sort(), mine.map(b => b.id).sort())
  assert.deepEqual((await store.owners()).sort(), [OWNER_A, OWNER_B].sort())
})

test('head returns the first bytes of a blob without reading all of it', async (t) => {
  const { store } = await newStore(t)
  const b = blob(5000)
  await store.put(OWNER_A, b.id, b.data)
  assert.ok((await store.head(OWNER_A, b.id, 61)).equals(b.data.subarray(0, 61)))
  assert.ok((await store.head(OWNER_A, b.id, 9000)).equals(b.data))
})

test('temp files left by a crash are removed when the store starts', async (t) => {
  const { dir } = await newStore(t)
  await mkdir(join(dir, 'storage', '.tmp'), { recursive: true })
  await writeFile(join(dir, 'storage', '.tmp', 'deadbeef'), randomBytes(100))
  const store = new BlobStore(join(dir, 'storage'))
  await store.start()
  assert.deepEqual(await readdir(join(dir, 'storage', '.tmp')), [])
  assert.deepEqual(store.usage(), {})
})

test('storing a blob again over a damaged copy on disk repairs it and keeps usage exact', async (t) => {
  const { store } = await newStore(t)
  const [flipped, truncated] = [blob(3000), blob(3000)]
  await store.put(OWNER_A, flipped.id, flipped.data)
  await store.put(OWNER_A, truncated.id, truncated.data)
  const bad = Buffer.from(flipped.data)
  bad[10] ^= 0xff
  await writeFile(store.pathOf(OWNER_A, flipped.id), bad)
  await writeFile(store.pathOf(OWNER_A, truncated.id), truncated.data.subarray(0, 1000))
  const restarted = new BlobStore(store.root)
  await restarted.start() // counts what is on disk now: 3000 + 1000
  assert.deepEqual(restarted.usage(), { [OWNER_A]: 4000 })
  await assert.rejects(restarted.get(OWNER_A, flipped.id), { name: 'VaultError', code: 'CORRUPT' })
  await restarted.put(OWNER_A, flipped.id, flipped.data, true)
  await restarted.put(OWNER_A, truncated.id, truncated.data)
  assert.ok((await restarted.get(OWNER_A, flipped.id)).equals(flipped.data))
  assert.ok((await restarted.get(OWNER_A, truncated.id)).equals(truncated.data))
  assert.deepEqual(restarted.usage(), { [OWNER_A]: 6000 })
})

test('big blobs, written on a worker thread, get the same guarantees: exact bytes, no temp file, dedup, repair', { skip: process.env.DV_WORKERS === '0' ? 'worker threads turned off' : false }, async (t) => {
  const { dir, store } = await newStore(t)
  const size = 300 * 1024 // over the inline threshold of workers/
  const [a, b] = [blob(size), blob(size)]
  const handedOver = Buffer.from(a.data)
  await store.put(OWNER_A, a.id, handedOver, false, true)
  assert.equal(handedOver.length, 0, 'consumed: the buffer moved to the writer thread')
  await Promise.all([store.put(OWNER_A, b.id, b.data), store.put(OWNER_A, b.id, b.data)])
  assert.equal(b.data.length, size, 'not consumed: the caller keeps its bytes')
  assert.ok((await store.get(OWNER_A, a.id)).equals(a.data))
  assert.ok((await store.get(OWNER_A, b.id)).equals(b.data))
  assert.deepEqual(await readdir(join(dir, 'storage', '.tmp')), [])
  assert.deepEqual(store.usage(), { [OWNER_A]: 2 * size })

  await flipByte(store.pathOf(OWNER_A, a.id), 1234)
  await assert.rejects(store.get(OWNER_A, a.id), { name: 'VaultError', code: 'CORRUPT' })
  await store.put(OWNER_A, a.id, Buffer.from(a.data), true, true) // a damaged copy never satisfies dedup
  assert.ok((await store.get(OWNER_A, a.id)).equals(a.data))
  assert.deepEqual(store.usage(), { [OWNER_A]: 2 * size })
  assert.equal((await listFiles(join(dir, 'storage'))).length, 2)
})
