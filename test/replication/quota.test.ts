// Any one owner may fill only its quota on a holder; without --max-storage a holder keeps for
// others at most half of the disk that was free when it started.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { statfs } from 'node:fs/promises'
import { startCluster, putBytes, readBytes, waitForMesh } from '../helpers/cluster.ts'
import { tempDir } from '../helpers/fs.ts'
import { nodeConfigSchema } from '../../src/node/config.ts'
import { storageCaps } from '../../src/node/storage-limits.ts'

const MiB = 1024 * 1024

test('an owner over its quota on a holder is refused there and places its copies elsewhere; other owners still fit', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const strict = await cluster.add({ maxPerOwnerBytes: 2 * MiB })
  await waitForMesh([a, b, c, strict])

  const bytes = randomBytes(12 * MiB)
  const result = await putBytes(a, 'big.bin', bytes, 4)
  const heldForA = strict.status().storage[a.nodeId] ?? 0
  assert.ok(heldForA > 0 && heldForA <= 2 * MiB, `the strict holder keeps at most a's quota (${heldForA} bytes)`)
  assert.equal(result.underReplicated, true, 'the strict holder could not take every blob')
  assert.equal(result.replicas, 3)
  assert.ok((await readBytes(a, 'big.bin')).equals(bytes))

  // Another owner's quota there is its own.
  const other = randomBytes(MiB)
  const fromB = await putBytes(b, 'small.bin', other, 4)
  assert.equal(fromB.replicas, 4)
  assert.ok((strict.status().storage[b.nodeId] ?? 0) >= MiB)
})

test('without caps a holder takes what it holds for others plus half the free disk, a quarter of that per owner', async (t) => {
  const dir = await tempDir(t)
  const config = nodeConfigSchema.parse({ dataDir: dir })
  const fs = await statfs(dir)
  const free = fs.bavail * fs.bsize
  const caps = await storageCaps(config, dir, 5 * MiB)
  // The free disk moves a little while other tests write: allow 64 MiB of drift.
  assert.ok(Math.abs(caps.maxStorageBytes - (5 * MiB + free / 2)) < 64 * MiB, `cap ${caps.maxStorageBytes} vs free ${free}`)
  assert.equal(caps.maxPerOwnerBytes, Math.floor(caps.maxStorageBytes / 4))

  const set = await storageCaps(nodeConfigSchema.parse({ dataDir: dir, maxStorageBytes: 1000 }), dir, 0)
  assert.deepEqual(set, { maxStorageBytes: 1000, maxPerOwnerBytes: 250 })
  const both = await storageCaps(nodeConfigSchema.parse({ dataDir: dir, maxStorageBytes: 1000, maxPerOwnerBytes: 900 }), dir, 0)
  assert.deepEqual(both, { maxStorageBytes: 1000, maxPerOwnerBytes: 900 })
})
