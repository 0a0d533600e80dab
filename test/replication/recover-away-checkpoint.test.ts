// The one holder of the history's checkpoint away during recover (two copies: the owner's, lost,
// and that holder's). The records after it were found, the checkpoint was not: what the history
// started from was unknown, and recover counted every manifest no record names as a file, so a put
// killed midway (its manifest left on the other holders) came back as a file, and the recover called
// itself complete. Now that history counts as unseen: the recover settles nothing and brings no
// guess back, and once the holder is back the next recover lists exactly what existed.
// The second test: the whole history (its checkpoint, no record after it) on the away holder, the
// files' manifests on others. No history was found at all, so recover took every manifest for
// garbage, called itself complete and collected the files on every holder: lost for good.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startCluster, putBytes, readBytes, replaceDisk, waitForMesh, killedPut } from '../helpers/cluster.ts'
import type { VaultNode } from '../../src/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function holds (holder: VaultNode, owner: string, ids: string[]): Promise<boolean> {
  for (const id of ids) if (!await holder.vault.store.has(owner, id)) return false
  return true
}

test('the only holder of the history\'s checkpoint away during recover: no manifest the history does not name comes back, and nothing is settled until it is back', async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a, ...holders] = cluster.nodes
  const kept = randomBytes(60_000)
  await putBytes(a, 'kept.bin', kept, 2)
  await a.vault.journal.checkpoint()
  const checkpoint = (a.vault.catalog.db.prepare("SELECT blob_id FROM journal WHERE kind = 'checkpoint'").all() as Array<{ blob_id: string }>).map(r => r.blob_id)
  const away = (await Promise.all(holders.map(async h => await holds(h, a.nodeId, checkpoint) ? h : undefined))).find(h => h !== undefined)
  assert.ok(away !== undefined, 'the checkpoint has its copy on a holder')
  // Records after the checkpoint that some other holder has, so the history itself is found.
  const others = holders.filter(h => h !== away)
  const after: Record<string, Buffer> = {}
  for (let i = 0; i < 12; i++) {
    const bytes = randomBytes(20_000)
    const put = await putBytes(a, `after${i}.bin`, bytes, 2)
    after[`after${i}.bin`] = bytes
    const record = (a.vault.catalog.db.prepare("SELECT blob_id FROM journal WHERE kind = 'add' AND file_id = ?").get(put.id) as { blob_id: string }).blob_id
    const blobs = [record, put.id, ...(await a.vault.open(put.id)).manifest.chunks.map(c => c.id)]
    if ((await Promise.all(others.map(async h => await holds(h, a.nodeId, blobs)))).some(Boolean)) break
  }
  const names = a.vault.list().map(f => f.name)
  assert.ok(names.length >= 2)
  await killedPut(a, others, 'ghost.bin', 1000)
  await away.stop()

  const again = await replaceDisk(cluster, a, 'a-again')
  const first = await again.recover()
  assert.ok(!again.vault.list().some(f => f.name === 'ghost.bin'), `the killed put came back: ${again.vault.list().map(f => f.name).join(', ')}`)
  assert.ok(first.unseen >= 1, `the history's checkpoint counts as unseen (unseen ${first.unseen})`)
  assert.equal(again.status().recoverPending, true, 'so nothing is settled')

  await cluster.add({}, away.paths.root)
  await waitForMesh(cluster.nodes.filter(n => n.networking !== undefined))
  const second = await again.recover()
  assert.equal(second.unseen, 0)
  assert.deepEqual(again.vault.list().map(f => f.name), names)
  assert.equal(sha(await readBytes(again, 'kept.bin')), sha(kept))
  for (const [name, bytes] of Object.entries(after)) if (names.includes(name)) assert.equal(sha(await readBytes(again, name)), sha(bytes), name)
  assert.equal(again.status().recoverPending, false)
})

test('the whole history on a holder away during recover, the files\' manifests on others: recover settles nothing, and brings every file once the holder is back', async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a, ...holders] = cluster.nodes
  const journalBlobs = (kind?: string): string[] => (a.vault.catalog.db.prepare(`SELECT blob_id FROM journal${kind === undefined ? '' : ' WHERE kind = ?'}`).all(...(kind === undefined ? [] : [kind])) as Array<{ blob_id: string }>).map(r => r.blob_id)
  const contents: Record<string, Buffer> = {}
  let away: VaultNode | undefined
  // Put a file, checkpoint (its record is collected), until the checkpoint's one holder is not the
  // holder of the file's manifest and no other holder keeps any blob of the history; a file that
  // does not fit is removed again, so one file is tried at a time (about 2 tries in 3 fit).
  for (let i = 0; i < 40 && away === undefined; i++) {
    const name = `k${i}.bin`
    const bytes = randomBytes(30_000)
    const put = await putBytes(a, name, bytes, 2)
    await a.vault.journal.checkpoint()
    const candidate = (await Promise.all(holders.map(async h => await holds(h, a.nodeId, journalBlobs('checkpoint')) ? h : undefined))).find(h => h !== undefined)
    const elsewhere = holders.filter(h => h !== candidate)
    const historyElsewhere = (await Promise.all(elsewhere.flatMap(h => journalBlobs().map(async id => await h.vault.store.has(a.nodeId, id))))).some(Boolean)
    if (candidate !== undefined && !historyElsewhere && put.replicas === 2 && !await candidate.vault.store.has(a.nodeId, put.id)) {
      away = candidate
      contents[name] = bytes
    } else {
      await a.vault.remove(name)
      await a.vault.journal.checkpoint()
    }
  }
  assert.ok(away !== undefined, 'a layout with the history on one holder and the manifests on the others')
  const names = a.vault.list().map(f => f.name)
  await away.stop()

  const again = await replaceDisk(cluster, a, 'a-again')
  const first = await again.recover()
  assert.equal(first.unseen, 1, 'the history no peer online had counts as unseen')
  assert.equal(again.status().recoverPending, true, 'so nothing is settled (nothing collected)')

  await cluster.add({}, away.paths.root)
  await waitForMesh(cluster.nodes.filter(n => n.networking !== undefined))
  const second = await again.recover()
  assert.deepEqual([second.unseen, second.missing], [0, 0])
  assert.deepEqual(again.vault.list().map(f => f.name), names)
  for (const name of names) assert.equal(sha(await readBytes(again, name)), sha(contents[name]), name)
  assert.equal(again.status().recoverPending, false)
})
