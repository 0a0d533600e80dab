// recover restores exactly the files that existed: a file removed while a holder missed the
// deletion stays removed, and a put killed midway (its blobs left on holders) never appears.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { startCluster, putBytes, readBytes, replaceDisk, waitForMesh, killedPut } from '../helpers/cluster.ts'
import type { VaultNode } from '../../src/index.ts'
import { waitFor } from '../helpers/cli.ts'
import { CHECKPOINT_AFTER_RECORDS } from '../../src/files/journal.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('after put A, put B, rm A (a holder missed it) and a put C killed midway, recover lists exactly B', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const bytesA = randomBytes(700_000)
  const bytesB = randomBytes(900_000)
  const putA = await putBytes(a, 'A.bin', bytesA, 3)
  await putBytes(a, 'B.bin', bytesB, 3)

  // rm A while c does not hear of it: c keeps every blob of A it had (as a hung holder would).
  const fileA = await a.vault.open(putA.id)
  const blobsOfA = [putA.id, ...fileA.manifest.chunks.map(ch => ch.id)]
  const keptByC = await Promise.all(blobsOfA.map(async id => ({ id, bytes: await c.vault.store.get(a.nodeId, id) })))
  await a.vault.remove('A.bin')
  for (const blob of keptByC) await c.vault.store.put(a.nodeId, blob.id, blob.bytes)

  // put C killed midway: its chunk and its manifest reached the holders, the put never returned.
  await killedPut(a, [b, c], 'C.bin', 300_000)

  const again = await replaceDisk(cluster, a, 'a-again') // the disk is gone
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.deepEqual(again.vault.list().map(f => f.name), ['B.bin'], 'nothing deleted comes back, nothing half-put appears')
  assert.equal(result.files, 1)
  assert.equal(sha(await readBytes(again, 'B.bin')), sha(bytesB))
})

// The first checkpoint is written at start, before the network is up, so it stays on this disk
// alone until something copies it. A repair pass would, but not before this disk is lost here (no
// pass runs in the test's hour): the first record must take its checkpoint along. Before, the
// holders had the records without the checkpoint, recover could not tell what that history started
// from (replayJournal's `headless`) and counted every manifest it found: the killed put came back.
test('the checkpoint made at start reaches the holders with the first record: a disk lost before any repair pass brings back no killed put', async (t) => {
  const cluster = await startCluster(t, 3, {}, { repairEveryMs: 3_600_000 })
  const [a, b, c] = cluster.nodes
  const bytesB = randomBytes(200_000)
  await putBytes(a, 'B.bin', bytesB, 3)
  await killedPut(a, [b, c], 'C.bin', 100_000)
  const again = await replaceDisk(cluster, a, 'a-again')
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.deepEqual(again.vault.list().map(f => f.name), ['B.bin'], 'the killed put stays gone')
  assert.equal(sha(await readBytes(again, 'B.bin')), sha(bytesB))
})

// The first put has no record before its manifest goes out, so nothing took the checkpoint along
// yet: the holders then have no history of this owner at all, only the manifest. Recover still
// does not count it: the new disk starts its own history (a checkpoint listing nothing) before it
// recovers, so what it finds is a history, not a folder from before the journal.
test('the first put killed right after its manifest reached the holders does not come back either', async (t) => {
  const cluster = await startCluster(t, 3, {}, { repairEveryMs: 3_600_000 })
  const a = cluster.nodes[0]
  // The fault: the process dies once the manifest is out, before its add record is written.
  let manifestOut = false
  a.vault.journal.append = async () => { manifestOut = true; return await new Promise<never>(() => {}) }
  void putBytes(a, 'C.bin', randomBytes(100_000), 3).catch(() => {})
  await waitFor('the manifest on the holders', () => manifestOut)
  const again = await replaceDisk(cluster, a, 'a-again')
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.deepEqual(again.vault.list().map(f => f.name), [], 'the killed put stays gone')
})

// A holder away during recover. The others have the history, and it lists a file whose manifest
// only the absent holder has (put with 2 copies: the owner's, lost, and that holder's). A peer that
// is not connected is not listed, so recover saw no failure: it called itself complete, wrote a
// checkpoint without the file and collected. That checkpoint covers the file's add record, so even
// a recover run again with the holder back did not bring the file: it was lost for good.
test('a holder away during recover: its file is reported missing, nothing is settled (no checkpoint either, however many puts follow), and a recover with it back brings the file', async (t) => {
  const cluster = await startCluster(t, 4)
  const [a, ...holders] = cluster.nodes
  const kept = randomBytes(200_000)
  const lone = randomBytes(150_000)
  await putBytes(a, 'kept.bin', kept, 3)
  const lonePut = await putBytes(a, 'lone.bin', lone, 2)
  const [away] = await asyncFilter(holders, async h => await h.vault.store.has(a.nodeId, lonePut.id))
  assert.ok(away !== undefined, 'one holder has the manifest of lone.bin')
  await away.stop()
  const again = await replaceDisk(cluster, a, 'a-again')

  const first = await again.recover()
  assert.equal(first.failed, 0)
  assert.equal(first.missing, 1, 'the history lists a file no peer online has')
  assert.deepEqual(again.vault.list().map(f => f.name), ['kept.bin'])
  assert.equal(again.status().recoverPending, true, 'a partial recover settles nothing')
  // The owner goes on working meanwhile: enough records for the journal's own checkpoint
  // (CHECKPOINT_AFTER_RECORDS). Before, that checkpoint listed only the files found and covered
  // lone.bin's add record: the recover below then did not bring it.
  for (let i = 0; i < CHECKPOINT_AFTER_RECORDS; i++) await putBytes(again, `meanwhile/${i}`, Buffer.from(`file ${i}`), 1)

  const back = await cluster.add({}, away.paths.root)
  await waitForMesh(cluster.nodes.filter(n => n.networking !== undefined))
  const second = await again.recover()
  assert.equal(second.missing, 0)
  assert.deepEqual(again.vault.list().map(f => f.name).filter(n => !n.startsWith('meanwhile/')), ['kept.bin', 'lone.bin'])
  assert.equal(again.vault.list().length, 2 + CHECKPOINT_AFTER_RECORDS, 'and every file put meanwhile')
  assert.equal(sha(await readBytes(again, 'lone.bin')), sha(lone))
  assert.equal(sha(await readBytes(again, 'kept.bin')), sha(kept))
  assert.equal(again.status().recoverPending, false)
  assert.ok(back.networking !== undefined)
})

// The way out when that holder is gone for good: without it, every recover stayed partial (and the
// node held its deletions and checkpoints) for ever. The API refuses anything but true/false.
test('a holder gone for good: recover with acceptMissing completes without the file only it had, and the node settles', async (t) => {
  const cluster = await startCluster(t, 4)
  const [a, ...holders] = cluster.nodes
  const kept = randomBytes(100_000)
  await putBytes(a, 'kept.bin', kept, 3)
  const lonePut = await putBytes(a, 'lone.bin', randomBytes(50_000), 2)
  const [gone] = await asyncFilter(holders, async h => await h.vault.store.has(a.nodeId, lonePut.id))
  await gone.stop()
  const again = await replaceDisk(cluster, a, 'a-again')
  const { url, token } = JSON.parse(await readFile(again.paths.apiFile, 'utf8')) as { url: string, token: string }
  const refused = await fetch(new URL('/api/recover?acceptMissing=yes', url), { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  assert.equal(refused.status, 400)
  assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'BAD_INPUT')
  assert.equal((await again.recover()).missing, 1)
  assert.equal(again.status().recoverPending, true)
  const accepted = await again.recover(undefined, { acceptMissing: true })
  assert.equal(accepted.missing, 1)
  assert.equal(again.status().recoverPending, false, 'complete: deletions and checkpoints go on')
  assert.deepEqual(again.vault.list().map(f => f.name), ['kept.bin'])
  assert.equal(sha(await readBytes(again, 'kept.bin')), sha(kept))
})

async function asyncFilter<T> (items: T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const kept = await Promise.all(items.map(keep))
  return items.filter((_, i) => kept[i])
}

test('a new disk that puts files before running recover loses nothing: the sweep keeps the old history, recover merges both', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const old = randomBytes(400_000)
  const oldPut = await putBytes(a, 'old.bin', old, 3)
  const oldIds = [oldPut.id, ...(await a.vault.open(oldPut.id)).manifest.chunks.map(ch => ch.id)]
  await putBytes(a, 'gone.bin', randomBytes(1000), 3)
  await a.vault.remove('gone.bin')
  const again = await replaceDisk(cluster, a, 'a-new')

  // Before recover: a new file, removals of its own, compaction, and sweeps.
  const fresh = randomBytes(300_000)
  await putBytes(again, 'new.bin', fresh, 3)
  await putBytes(again, 'tmp.bin', randomBytes(1000), 3)
  await again.vault.remove('tmp.bin')
  await again.vault.journal.checkpoint()
  await again.networking!.replication.sweepHolders()
  for (const holder of [b, c]) {
    const ids = new Set(await listBlobs(holder, a.nodeId))
    assert.ok(oldIds.every(id => ids.has(id)), 'the sweep kept every blob of the old history')
  }
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.deepEqual(again.vault.list().map(f => f.name), ['new.bin', 'old.bin'])
  assert.equal(sha(await readBytes(again, 'old.bin')), sha(old))
  assert.equal(sha(await readBytes(again, 'new.bin')), sha(fresh))

  // The merged history is the one from now on: another disk loss brings back the same two files.
  const thrice = await replaceDisk(cluster, again, 'a-third')
  await thrice.recover()
  assert.deepEqual(thrice.vault.list().map(f => f.name), ['new.bin', 'old.bin'])
})

async function listBlobs (holder: VaultNode, owner: string): Promise<string[]> {
  const ids: string[] = []
  for await (const id of holder.vault.store.list(owner)) ids.push(id)
  return ids
}

test('a new disk that stores and removes the same bytes as an old file before recover does not delete the old file\'s chunks on the holders', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const old = randomBytes(600_000)
  await putBytes(a, 'old.bin', old, 3)
  const again = await replaceDisk(cluster, a, 'a-same')

  // Same bytes, so the same chunk IDs (one vault key): removing the copy must not reach the old file.
  await putBytes(again, 'copy.bin', old, 3)
  await again.vault.remove('copy.bin')
  await again.networking!.replication.sweepHolders()
  assert.equal(again.status().recoverPending, true, 'status says recover is still to run')
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.equal(again.status().recoverPending, false)
  assert.deepEqual(again.vault.list().map(f => f.name), ['old.bin'])
  assert.equal(sha(await readBytes(again, 'old.bin')), sha(old))
  // And the held-back deletions, once recover has run, never take chunks a live file uses.
  await waitFor('no deletion left queued', () => again.vault.catalog.holders.peersWithPendingDeletes().length === 0, { timeoutMs: 15_000 })
  for (const holder of [b, c]) {
    const file = await again.vault.open('old.bin')
    for (const ch of file.manifest.chunks) assert.equal(await holder.vault.store.has(a.nodeId, ch.id), true)
  }
})
