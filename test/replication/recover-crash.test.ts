// A recover killed midway (kill -9: no clean stop), the node started again and the recover run
// again. The start's crash clean-up finds the blobs the first run wrote with no catalog row naming
// them (orphans: deleted here, buried, their deletions held for every holder while the recover is
// pending); the second run must bring every file back, and once it completes, neither the held
// deletions nor the holder sweep may take a blob a file uses.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { startCluster, putBytes, readBytes, replaceDisk, waitForMesh } from '../helpers/cluster.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a recover killed midway and run again after an unclean start brings every file back and the holders keep them', async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a, ...holders] = cluster.nodes
  const files = new Map<string, Buffer>()
  for (let i = 0; i < 6; i++) files.set(`f${i}.bin`, randomBytes(300_000 + i * 50_000))
  for (const [name, bytes] of files) await putBytes(a, name, bytes, 2)
  const blobs = new Set<string>()
  for (const f of a.vault.list()) {
    blobs.add(f.id)
    for (const c of (await a.vault.open(f.id)).manifest.chunks) blobs.add(c.id)
  }

  const first = await replaceDisk(cluster, a, 'a-again')
  const { paths } = first
  let stopping: Promise<void> | undefined
  await assert.rejects(first.recover((p) => { if (p.phase === 'fetching' && p.fetched >= 4) stopping ??= first.stop() }))
  await stopping
  await writeFile(paths.runMarker, `${process.pid}\n`) // as a kill -9 leaves it

  const again = await cluster.add({}, paths.root)
  await waitForMesh([again, ...holders])
  assert.equal(again.status().recoverPending, true)
  assert.ok(again.vault.catalog.journal.countTombstones() > 0, 'the crash clean-up took what the first run wrote for orphans')
  const result = await again.recover()
  assert.deepEqual([result.failed, result.missing, result.unseen, result.unreferenced], [0, 0, 0, 0], JSON.stringify(result))
  assert.equal(again.status().recoverPending, false)
  assert.deepEqual(again.vault.list().map(f => f.name), [...files.keys()])
  await again.networking!.replication.sweepHolders()
  await new Promise(resolve => setTimeout(resolve, 1500)) // held deletions go out once it completes
  for (const id of blobs) {
    assert.equal(await again.vault.store.has(again.nodeId, id), true, `${id.slice(0, 12)} here`)
    const copies = (await Promise.all(holders.map(async h => await h.vault.store.has(again.nodeId, id)))).filter(Boolean).length
    assert.ok(copies >= 1, `${id.slice(0, 12)} kept on a holder`)
  }
  for (const [name, bytes] of files) assert.equal(sha(await readBytes(again, name)), sha(bytes), name)
})
