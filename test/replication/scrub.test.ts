// Scrub: every node re-verifies the blobs on its disk; a bad copy of its own comes back from a
// holder, a bad copy held for another owner is deleted and reported, and the owner re-replicates.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { flipByte } from '../helpers/fs.ts'
import { intactOn, someHeldBlob } from '../helpers/blobs.ts'
import { startCluster, putBytes, readBytes } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/cli.ts'
import type { VaultNode } from '../../src/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function flipOne (node: VaultNode, owner: string): Promise<string> {
  const blob = await someHeldBlob(node, owner)
  await flipByte(blob.path, 7)
  return blob.id
}

test('scrub replaces a damaged blob of the node\'s own from a holder', async (t) => {
  const cluster = await startCluster(t, 2, { auditEverySeconds: 0 })
  const [a] = cluster.nodes
  const content = randomBytes(700_000)
  const put = await putBytes(a, 'mine.bin', content, 2)
  // One of the file's chunks, which its holder has (a journal blob may not have reached it yet).
  const id = a.vault.catalog.chunksOf(a.vault.resolve(put.id).row)[0].id
  await flipByte(a.vault.store.pathOf(a.nodeId, id), 7)

  const result = await a.scrub()
  assert.equal(result.bad, 1)
  assert.equal(result.repaired, 1)
  assert.equal(result.failed, 0)
  assert.ok(result.checked >= 2)
  assert.ok(await intactOn(a, a.nodeId, id), 'the local copy is good again')
  assert.equal(sha(await readBytes(a, 'mine.bin')), sha(content))
  assert.deepEqual(a.status().scrub && { checked: a.status().scrub!.checked, bad: a.status().scrub!.bad, repaired: a.status().scrub!.repaired }, { checked: result.checked, bad: 1, repaired: 1 })
})

test('scrub deletes a damaged blob held for another owner and reports it; the owner makes the copy again', async (t) => {
  // No audits: only the holder's report can tell the owner.
  const cluster = await startCluster(t, 2, { auditEverySeconds: 0 })
  const [owner, holder] = cluster.nodes
  await putBytes(owner, 'theirs.bin', randomBytes(700_000), 2)
  const id = await flipOne(holder, owner.nodeId)

  const result = await holder.scrub()
  assert.equal(result.bad, 1)
  assert.equal(result.reported, 1)
  assert.equal(result.repaired, 0)
  assert.equal(owner.networking!.auditor.faults().missing, 1, 'the owner dropped the copy the holder reported')
  await waitFor('the owner to re-replicate the reported blob', async () => await intactOn(holder, owner.nodeId, id) && owner.vault.list()[0].replicas === 2, { timeoutMs: 15_000 })
})

test('a report of lost copies from a node that is not a recorded holder changes nothing', async (t) => {
  const cluster = await startCluster(t, 3, { auditEverySeconds: 0 })
  const [owner] = cluster.nodes
  const file = await putBytes(owner, 'two.bin', randomBytes(100_000), 2)
  const [recorded] = owner.vault.catalog.holders.of(file.id)
  const stranger = cluster.nodes.find(n => n !== owner && n.nodeId !== recorded)!
  assert.equal(await stranger.networking!.client.reportLost(owner.nodeId, [file.id]), 0)
  assert.deepEqual(owner.vault.catalog.holders.of(file.id), [recorded])
  assert.equal(owner.vault.list()[0].replicas, 2)
  assert.equal(owner.networking!.auditor.faults().missing, 0)
})
