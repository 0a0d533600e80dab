// A holder away during recover that holds everything of a file: its manifest, its add record and
// its chunks (two copies: the owner's, lost, and that holder's). Nothing of the file is seen, so no
// file is missing. Before, recover called itself complete, its checkpoint absorbed the old history,
// and a recover run again with the holder back did not bring the file either (an absorbed history
// is never replayed): lost for good. Now every record also goes to the holders of its history's
// checkpoint, so a recover that finds the checkpoint finds the record (the file is then missing),
// and the history's numbers show a record no peer online had. The second test, the newest record,
// was a known limit before the records went beside the checkpoint.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startCluster, putBytes, readBytes, replaceDisk, waitForMesh } from '../helpers/cluster.ts'
import type { VaultNode } from '../../src/index.ts'
import { placeReplicas } from '../../src/net/rendezvous.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function awayWithAFile (t: { after: (fn: () => Promise<void>) => void }, putAfter: boolean): Promise<void> {
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a, ...holders] = cluster.nodes
  await putBytes(a, 'anchor.bin', randomBytes(50_000), 'all')
  await a.vault.journal.checkpoint()
  const peers = holders.map(h => h.nodeId)
  let found: { name: string, bytes: Buffer, away: VaultNode } | undefined
  // One put in nine lands whole on one holder (3 blobs, 3 holders): 100 tries miss about once in 10^5 runs (24 missed 6 %).
  for (let i = 0; i < 100 && found === undefined; i++) {
    const bytes = randomBytes(30_000)
    const put = await putBytes(a, `f${i}.bin`, bytes, 2)
    const blobs = [put.id, ...(await a.vault.open(put.id)).manifest.chunks.map(c => c.id)]
    const record = (a.vault.catalog.db.prepare("SELECT blob_id FROM journal WHERE kind = 'add' AND file_id = ?").get(put.id) as { blob_id: string }).blob_id
    const on = new Set([...blobs, record].map(id => placeReplicas(id, peers, 1)[0]))
    if (on.size === 1) found = { name: `f${i}.bin`, bytes, away: holders.find(h => h.nodeId === [...on][0])! }
    else {
      // Not this one: gone, and its records collected, so only the file looked for is after the checkpoint.
      await a.vault.remove(`f${i}.bin`)
      await a.vault.journal.checkpoint()
    }
  }
  assert.ok(found !== undefined)
  // Work goes on after it: a file on every holder.
  if (putAfter) await putBytes(a, 'after.bin', randomBytes(20_000), 'all')
  const names = a.vault.list().map(f => f.name)
  await found.away.stop()
  const again = await replaceDisk(cluster, a, 'a-again')
  const first = await again.recover()
  // Its record is found beside the history's checkpoint (missing: the manifest), or its number shows (unseen).
  assert.equal(first.missing + first.unseen, 1, `the file is on no peer online: ${JSON.stringify(first)}`)
  assert.equal(again.status().recoverPending, true, 'so nothing is settled')
  await cluster.add({}, found.away.paths.root)
  await waitForMesh(cluster.nodes.filter(n => n.networking !== undefined))
  const second = await again.recover()
  assert.deepEqual([second.missing, second.unseen], [0, 0])
  assert.deepEqual(again.vault.list().map(f => f.name), names)
  assert.equal(sha(await readBytes(again, found.name)), sha(found.bytes))
  assert.equal(again.status().recoverPending, false)
}

test('a holder away during recover with every blob of a file and its record: recover settles nothing, and brings the file once the holder is back', async (t) => {
  await awayWithAFile(t, true)
})

test('the same when that record is the newest of the history', async (t) => {
  await awayWithAFile(t, false)
})
