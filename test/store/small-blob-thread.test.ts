// A small blob is written from the calling thread (through libuv's threads), never by a worker
// thread: starting one costs a few tenths of a CPU-second, and every node stores a small blob at
// start (its journal's checkpoint), so a node that stores only small blobs never starts one. A big
// blob the caller gives up still goes to a worker. A process of its own (a file of its own): the
// worker count starts at zero.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { BlobStore } from '../../src/store/index.ts'
import { sha256Hex } from '../../src/crypto/index.ts'
import { workersStarted } from '../../src/workers/index.ts'
import { tempDir } from '../helpers/fs.ts'

const OWNER = '12D3KooWCBuyAyFWJYKQ2tz6VcFxtq9feZ4VcC12RCpgyfF96D9q'

test('small blobs, given up or kept, are written and read back without starting a worker thread; a big one given up starts one', async (t) => {
  const store = new BlobStore(join(await tempDir(t), 'storage'))
  await store.start()
  const small = [randomBytes(100), randomBytes(40 * 1024)]
  for (const [i, data] of small.entries()) await store.put(OWNER, sha256Hex(data), Buffer.from(data), false, i === 0)
  for (const data of small) assert.ok((await store.get(OWNER, sha256Hex(data))).equals(data))
  assert.equal(workersStarted(), 0)

  const big = randomBytes(1024 * 1024)
  const id = sha256Hex(big)
  await store.put(OWNER, id, Buffer.from(big), false, true)
  assert.ok((await store.get(OWNER, id)).equals(big))
  assert.ok(workersStarted() >= 1, 'a big blob given up is written by a worker thread')
})
