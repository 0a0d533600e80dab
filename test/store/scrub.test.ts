// verifyBlobs: the scrub's walk over a store finds every damaged blob, and keeps to its read-rate cap.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { BlobStore, verifyBlobs } from '../../src/store/index.ts'
import { tempDir } from '../helpers/fs.ts'

const OWNER = '12D3KooWAbcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTU'
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a scrub walk reports each blob once and flags the ones whose bytes changed on disk, at the capped rate', async (t) => {
  const store = new BlobStore(await tempDir(t))
  await store.start()
  const ids: string[] = []
  for (let i = 0; i < 4; i++) {
    const blob = randomBytes(256 * 1024)
    ids.push(sha(blob))
    await store.put(OWNER, sha(blob), blob)
  }
  await writeFile(store.pathOf(OWNER, ids[2]), randomBytes(256 * 1024))
  const started = Date.now()
  const seen = []
  for await (const blob of verifyBlobs(store, { bytesPerSecond: 2 * 1024 * 1024 })) seen.push(blob)
  const elapsedMs = Date.now() - started
  assert.deepEqual(seen.map(b => b.id).sort(), [...ids].sort())
  assert.deepEqual(seen.filter(b => !b.intact).map(b => b.id), [ids[2]])
  assert.equal(seen.reduce((n, b) => n + b.bytes, 0), 1024 * 1024)
  assert.ok(elapsedMs >= 400, `1 MiB at 2 MiB/s took ${elapsedMs} ms`)
})
