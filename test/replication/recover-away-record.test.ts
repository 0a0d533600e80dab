// A holder away during recover that had a file's add record, while the file's manifest and chunks
// are on holders that answer. The history then does not name the file, so recover took its
// manifest for a killed put's, called itself complete and collected the file's blobs on every
// holder: the file was lost for good, even once the away holder came back.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startCluster, putBytes, readBytes, replaceDisk } from '../helpers/cluster.ts'
import type { VaultNode } from '../../src/index.ts'
import { placeReplicas } from '../../src/net/rendezvous.ts'
import { waitFor } from '../helpers/cli.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a holder away during recover with the only copy of a file\'s add record: the file is not lost', async (t) => {
  // Two copies by default: each blob on one holder of three, each by its own rendezvous order.
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a, ...holders] = cluster.nodes
  // A checkpoint on every holder, so the history has a known start whoever is away.
  await putBytes(a, 'anchor.bin', randomBytes(50_000), 'all')
  await a.vault.journal.checkpoint()
  const checkpointHolders = a.vault.catalog.db.prepare("SELECT blob_id FROM journal WHERE kind = 'checkpoint' AND state = 'complete'").all() as Array<{ blob_id: string }>
  for (const row of checkpointHolders) assert.equal(a.vault.catalog.holders.of(row.blob_id).length, 3, 'the checkpoint is on every holder')

  // A file whose add record went (by its own placement) to a holder that has none of its other blobs.
  let found: { name: string, bytes: Buffer, away: VaultNode } | undefined
  for (let i = 0; i < 24 && found === undefined; i++) {
    const bytes = randomBytes(40_000)
    const put = await putBytes(a, `f${i}.bin`, bytes, 2)
    const record = (a.vault.catalog.db.prepare("SELECT blob_id FROM journal WHERE kind = 'add' AND file_id = ?").get(put.id) as { blob_id: string }).blob_id
    const recordHolders = a.vault.catalog.holders.of(record)
    const fileHolders = new Set([put.id, ...(await a.vault.open(put.id)).manifest.chunks.map(c => c.id)].flatMap(id => a.vault.catalog.holders.of(id)))
    const apart = recordHolders.find(peer => !fileHolders.has(peer))
    if (apart !== undefined) found = { name: `f${i}.bin`, bytes, away: holders.find(h => h.nodeId === apart)! }
  }
  assert.ok(found !== undefined, 'some file has its add record apart from its manifest and chunks')

  await found.away.stop()
  const again = await replaceDisk(cluster, a, 'a-again')
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.ok(again.vault.list().some(f => f.name === found.name), `${found.name}: its manifest and chunks were found, so it is back`)
  assert.equal(sha(await readBytes(again, found.name)), sha(found.bytes))
})

// The same rule after repair: a holder of the manifest gone for good, repair places the manifest
// on another peer, and the add record follows it there. Before, the record stayed where its own
// placement put it, and a recover with that peer away lost the file as above.
test('repair puts a file\'s add record beside the manifest\'s new holder', async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 2, repairAfterSeconds: 0.5 })
  const [a, ...holders] = cluster.nodes
  await putBytes(a, 'anchor.bin', randomBytes(50_000), 'all')
  await a.vault.journal.checkpoint()
  const peers = holders.map(h => h.nodeId)
  // A file whose manifest goes first to M, then (M gone) to N, and whose record's own placement is the third holder.
  let found: { name: string, id: string, record: string, first: VaultNode, next: string, apart: VaultNode } | undefined
  for (let i = 0; i < 24 && found === undefined; i++) {
    const put = await putBytes(a, `f${i}.bin`, randomBytes(30_000), 2)
    const record = (a.vault.catalog.db.prepare("SELECT blob_id FROM journal WHERE kind = 'add' AND file_id = ?").get(put.id) as { blob_id: string }).blob_id
    const [m, n, third] = placeReplicas(put.id, peers, 3)
    if (placeReplicas(record, peers, 1)[0] === third) found = { name: `f${i}.bin`, id: put.id, record, first: holders.find(h => h.nodeId === m)!, next: n, apart: holders.find(h => h.nodeId === third)! }
  }
  assert.ok(found !== undefined, 'some file has its record placed apart from its manifest\'s first two holders')
  const { id, record, first, next } = found
  assert.deepEqual(a.vault.catalog.holders.of(id), [first.nodeId])

  await first.stop()
  await waitFor('the manifest repaired onto its next holder', () => a.vault.catalog.holders.of(id).includes(next), { timeoutMs: 20_000 })
  await waitFor('the add record beside it', () => a.vault.catalog.holders.of(record).includes(next), { timeoutMs: 10_000 })

  // And so a recover with the record's own holder away finds it.
  await found.apart.stop()
  const again = await replaceDisk(cluster, a, 'a-again')
  await again.recover()
  assert.ok(again.vault.list().some(f => f.name === found.name), `${found.name} is back`)
})
