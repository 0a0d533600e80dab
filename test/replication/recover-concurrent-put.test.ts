// Puts while a recover runs on a new disk: one of bytes an old file also has (the same chunk IDs,
// the vault key being the same), one new. Neither the recover's clean-up (orphans, the burial of
// what no manifest names, the holder sweep) nor the held deletions may take their blobs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startCluster, putBytes, readBytes, replaceDisk } from '../helpers/cluster.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('files put during a recover keep every blob, here and on the holders, once it completes and sweeps', async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a, ...holders] = cluster.nodes
  const old = randomBytes(1_200_000)
  await putBytes(a, 'old.bin', old, 2)
  await putBytes(a, 'gone.bin', randomBytes(300_000), 2)
  await a.vault.remove('gone.bin')

  const again = await replaceDisk(cluster, a, 'a-again')
  const fresh = randomBytes(900_000)
  const running = again.recover()
  const [same, other] = await Promise.all([putBytes(again, 'old-again.bin', old, 2), putBytes(again, 'fresh.bin', fresh, 2)])
  const result = await running
  assert.equal(result.failed, 0)
  // A recover run again sees the puts' history too and completes if the first did not.
  if (again.status().recoverPending) await again.recover()
  assert.equal(again.status().recoverPending, false)
  assert.deepEqual(again.vault.list().map(f => f.name), ['fresh.bin', 'old-again.bin', 'old.bin'])
  await again.networking!.replication.sweepHolders()
  for (const put of [same, other]) {
    const blobs = [put.id, ...(await again.vault.open(put.id)).manifest.chunks.map(c => c.id)]
    for (const id of blobs) {
      assert.equal(await again.vault.store.has(again.nodeId, id), true, `${id.slice(0, 12)} here`)
      const copies = (await Promise.all(holders.map(async h => await h.vault.store.has(again.nodeId, id)))).filter(Boolean).length
      assert.ok(copies >= 1, `${id.slice(0, 12)} on a holder`)
    }
  }
  for (const [name, bytes] of [['old.bin', old], ['old-again.bin', old], ['fresh.bin', fresh]] as const) assert.equal(sha(await readBytes(again, name)), sha(bytes), name)
})
