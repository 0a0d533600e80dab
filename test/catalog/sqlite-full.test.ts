// When SQLite itself runs out of room (SQLITE_FULL), puts and messages fail with DISK_FULL, not
// INTERNAL; nothing half-done stays in the catalog, even after a clean stop and a restart; and the
// files stored before are still there. `PRAGMA max_page_count` plays the full disk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startCluster, putBytes, readBytes } from '../helpers/cluster.ts'
import { VaultError } from '../../src/errors.ts'
import type { VaultNode } from '../../src/index.ts'

/** Lets the catalog grow by only `pages` more pages (not persistent: a restart lifts it). */
function fillCatalog (node: VaultNode, pages: number): void {
  const db = node.vault.catalog.db
  const { page_count: count } = db.prepare('PRAGMA page_count').get() as { page_count: number }
  db.exec(`PRAGMA max_page_count = ${count + pages}`)
}

async function failure (promise: Promise<unknown>, mayPass = false): Promise<VaultError | undefined> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  if (err === undefined && mayPass) return undefined
  assert.ok(err instanceof VaultError, `expected a VaultError, got ${String(err)}`)
  return err
}

test('a catalog that cannot grow fails puts and messages with DISK_FULL and leaves no pending row behind', async (t) => {
  const cluster = await startCluster(t, 2)
  const [a, b] = cluster.nodes
  const earlier = randomBytes(300_000)
  await putBytes(a, 'earlier.bin', earlier, 2)

  fillCatalog(a, 0)
  // Each put adds rows (the file, its chunks): soon one needs a page the catalog may not take.
  let putErr: VaultError | undefined
  const stored: string[] = []
  for (let i = 0; i < 200 && putErr === undefined; i++) {
    putErr = await failure(putBytes(a, `more-${i}.bin`, randomBytes(600_000), 1), true)
    if (putErr === undefined) stored.push(`more-${i}.bin`)
  }
  assert.ok(putErr instanceof VaultError, 'a put eventually fails')
  assert.equal(putErr.code, 'DISK_FULL', putErr.message)
  assert.equal(putErr.status, 507)
  assert.equal(a.vault.catalog.countPending(), 0, 'the failed put removed its pending row')

  const longText = 'x'.repeat(60_000)
  let msgErr: VaultError | undefined
  for (let i = 0; i < 50 && msgErr === undefined; i++) {
    msgErr = await a.messenger().send(b.nodeId, longText).then(() => undefined, (e: VaultError) => e)
  }
  assert.ok(msgErr instanceof VaultError, 'a message eventually fails')
  assert.equal(msgErr.code, 'DISK_FULL', msgErr.message)

  // A clean stop and a start: nothing pending, the earlier file reads back.
  const dir = a.paths.root
  await a.stop()
  const back = await cluster.add({}, dir)
  assert.equal(back.vault.catalog.countPending(), 0)
  assert.deepEqual(back.vault.list().map(f => f.name), ['earlier.bin', ...stored].sort())
  assert.ok((await readBytes(back, 'earlier.bin')).equals(earlier))
})

test('pending rows left by a run that stopped cleanly are dropped at the next start', async (t) => {
  const cluster = await startCluster(t, 1)
  const [a] = cluster.nodes
  const kept = randomBytes(100_000)
  await putBytes(a, 'kept.bin', kept)
  // What a put that failed and could not clean up leaves: a pending row with a chunk.
  const row = a.vault.catalog.beginFile()
  a.vault.catalog.addChunk(row, 0, 'ab'.repeat(32), 10)
  const dir = a.paths.root
  await a.stop()
  const back = await cluster.add({}, dir)
  assert.equal(back.vault.catalog.countPending(), 0)
  assert.ok((await readBytes(back, 'kept.bin')).equals(kept))
})
