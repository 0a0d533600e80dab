// A blob the caller keeps using (a chained copy it forwards, the owner's copy it sends) is written
// from the caller's own buffer on the main thread (store/blob-file-async.ts), not cloned to a
// worker: the file must be durable and byte-equal, the caller's buffer untouched and still usable,
// an intact copy left alone and a damaged one replaced.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BlobStore } from '../../src/store/index.ts'
import { sha256Hex } from '../../src/crypto/index.ts'
import { tempDir } from '../helpers/fs.ts'

const OWNER = '12D3KooWCBuyAyFWJYKQ2tz6VcFxtq9feZ4VcC12RCpgyfF96D9q'

test('a kept 1 MiB blob is written from the caller\'s buffer: byte-equal on disk, the buffer intact, intact copies kept, damaged ones replaced', async (t) => {
  const dir = await tempDir(t)
  const store = new BlobStore(join(dir, 'storage'))
  await store.start()
  const data = randomBytes(1 << 20)
  const before = Buffer.from(data)
  const id = sha256Hex(data)

  await store.put(OWNER, id, data, false, false)
  assert.equal(data.byteLength, 1 << 20, 'the caller\'s buffer is not moved away')
  assert.ok(data.equals(before), 'the caller\'s bytes are unchanged')
  assert.ok((await readFile(store.pathOf(OWNER, id))).equals(before))
  assert.ok((await store.get(OWNER, id)).equals(before))
  assert.deepEqual(await readdir(store.tmpDir), [], 'no temp file left')
  assert.equal(store.usage()[OWNER], 1 << 20)

  // Again: the intact copy is kept (the count does not double).
  await store.put(OWNER, id, data, true, false)
  assert.equal(store.usage()[OWNER], 1 << 20)

  // A damaged copy of the same size is replaced by the good bytes.
  const damaged = Buffer.from(before)
  damaged[12345] ^= 0xff
  await writeFile(store.pathOf(OWNER, id), damaged)
  await store.put(OWNER, id, data, true, false)
  assert.ok((await readFile(store.pathOf(OWNER, id))).equals(before))
  assert.equal(store.usage()[OWNER], 1 << 20)
})

test('a kept blob that does not match its ID is refused (CORRUPT) and nothing is written', async (t) => {
  const dir = await tempDir(t)
  const store = new BlobStore(join(dir, 'storage'))
  await store.start()
  const data = randomBytes(1 << 20)
  const wrongId = sha256Hex(randomBytes(32))
  await assert.rejects(store.put(OWNER, wrongId, data, false, false), { code: 'CORRUPT' })
  assert.equal(await store.has(OWNER, wrongId), false)
  assert.equal(data.byteLength, 1 << 20)
})
