// Audits: the owner notices holders that lost or damaged its blobs, drops those copies from the
// catalog and has repair remake them, so redundancy is never lost silently.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { copyFile, rm, unlink } from 'node:fs/promises'
import { flipByte } from '../helpers/fs.ts'
import { intactOn, someHeldBlob } from '../helpers/blobs.ts'
import { join } from 'node:path'
import { startCluster, putBytes, readBytes, waitForMesh, type Cluster } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/cli.ts'
import { initDataDir, type VaultNode } from '../../src/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const AUDIT = { auditEverySeconds: 2 }

/** The node loses its disk and comes back with the same ID (recovery phrase) and an empty folder. */
async function replaceDisk (cluster: Cluster, node: VaultNode, name: string): Promise<VaultNode> {
  const phrase = cluster.phrases.get(node.nodeId)!
  const keyFile = join(cluster.root, 'network.key') // n0's own copy goes with n0's disk
  await copyFile(cluster.networkKeyFile, keyFile).catch(() => {})
  await node.stop()
  await rm(node.paths.root, { recursive: true, force: true })
  const dir = join(cluster.root, name)
  await initDataDir({ dataDir: dir, recoverPhrase: phrase, joinKeyFile: keyFile })
  return await cluster.add({}, dir)
}

function heldBy (node: VaultNode, owner: string): number {
  return node.vault.store.usage()[owner] ?? 0
}

test('holders that lose their disks one after the other are caught by audits and refilled, so the owner survives its own disk loss', async (t) => {
  const cluster = await startCluster(t, 3, AUDIT)
  const [n1, n2, n3] = cluster.nodes
  const files = new Map([['a.bin', randomBytes(2 * 1024 * 1024 + 17)], ['b.txt', Buffer.from('remember the milk')]])
  for (const [name, bytes] of files) await putBytes(n1, name, bytes, 3)
  assert.ok(n1.vault.list().every(f => f.replicas === 3))

  const n2again = await replaceDisk(cluster, n2, 'n2-again')
  await waitForMesh([n1, n2again, n3])
  await waitFor('n1 to notice n2 lost its copies and refill it', () => heldBy(n2again, n1.nodeId) >= heldBy(n3, n1.nodeId) && n1.vault.list().every(f => f.replicas === 3), { timeoutMs: 30_000 })

  const n3again = await replaceDisk(cluster, n3, 'n3-again')
  await waitForMesh([n1, n2again, n3again])
  await waitFor('n1 to notice n3 lost its copies and refill it', () => heldBy(n3again, n1.nodeId) >= heldBy(n2again, n1.nodeId) && n1.vault.list().every(f => f.replicas === 3), { timeoutMs: 30_000 })

  const listed = n1.vault.list().map(f => `${f.name} ${f.id} ${f.size}`)
  const n1again = await replaceDisk(cluster, n1, 'n1-again')
  await waitForMesh([n1again, n2again, n3again])
  const result = await n1again.recover()
  assert.equal(result.failed, 0)
  assert.deepEqual(n1again.vault.list().map(f => `${f.name} ${f.id} ${f.size}`), listed)
  for (const [name, bytes] of files) assert.equal(sha(await readBytes(n1again, name)), sha(bytes), name)
})

test('a blob file deleted behind the owner\'s back is caught by the next audit and remade on that holder', async (t) => {
  const cluster = await startCluster(t, 3, { auditEverySeconds: 1 })
  const [n1, n2] = cluster.nodes
  await putBytes(n1, 'doc.bin', randomBytes(300_000), 3)
  const blob = await someHeldBlob(n2, n1.nodeId)
  await unlink(blob.path)
  await waitFor('an audit to find the copy missing', () => n1.networking!.auditor.faults().missing >= 1, { timeoutMs: 15_000 })
  await waitFor('repair to put the copy back', async () => await intactOn(n2, n1.nodeId, blob.id) && n1.vault.list()[0].replicas === 3, { timeoutMs: 15_000 })
  assert.equal(n1.networking!.auditor.faults().wrong, 0)
})

test('a holder whose blob bytes are flipped on disk fails the proof, is counted in /metrics, is never shown as confirmed, and the copy is remade', async (t) => {
  // Audits run only when the test says so (the period is an hour), so each step is deterministic.
  const cluster = await startCluster(t, 3, { auditEverySeconds: 3600 })
  const [n1, n2] = cluster.nodes
  const file = await putBytes(n1, 'flip.bin', randomBytes(300_000), 3)
  // One of the file's own blobs (n2 also holds journal blobs, which no file's copy count includes).
  const chunkId = n1.vault.catalog.chunksOf(n1.vault.resolve(file.id).row)[0].id
  const blob = { id: chunkId, path: n2.vault.store.pathOf(n1.nodeId, chunkId) }
  await flipByte(blob.path, 100, 0xff)

  const auditor = n1.networking!.auditor
  await auditor.audit(n2.nodeId)
  assert.equal(auditor.faults().wrong, 1, 'the wrong proof is a fault')
  assert.equal(auditor.faults().missing, 0, 'HAS alone would have believed the holder')
  assert.equal(n1.vault.list()[0].replicas, 2, 'the copy no longer counts')
  assert.equal(n1.status().underReplicated, 1)
  const metrics = await (await fetch(`${n1.apiUrl}/metrics`)).text()
  assert.match(metrics, /distri_vault_holder_faults_total\{kind="wrong"\} 1/)
  const health = await n1.health(file.id)
  const held = health.blobs.find(b => b.id === blob.id)!
  assert.ok(!held.holders.some(h => h.nodeId === n2.nodeId && h.confirmed === true), 'health does not confirm a copy that failed its proof')

  await waitFor('repair to rewrite the damaged copy', async () => await intactOn(n2, n1.nodeId, blob.id) && n1.vault.list()[0].replicas === 3, { timeoutMs: 15_000 })
  await auditor.audit(n2.nodeId)
  assert.equal(auditor.faults().wrong, 1, 'the remade copy passes')
  const after = (await n1.health(file.id)).blobs.find(b => b.id === blob.id)!
  assert.ok(after.holders.some(h => h.nodeId === n2.nodeId && h.confirmed === true), 'the remade copy is confirmed again')
})

test('a holder that serves bytes that fail their hash is counted and its copy stops counting', async (t) => {
  const cluster = await startCluster(t, 2, { auditEverySeconds: 0 })
  const [owner, holder] = cluster.nodes
  const file = await putBytes(owner, 'served.bin', randomBytes(300_000), 2)
  const chunk = owner.vault.catalog.chunksOf(owner.vault.resolve(file.id).row)[0].id
  await unlink(owner.vault.store.pathOf(owner.nodeId, chunk)) // the owner needs the holder's copy
  await flipByte(holder.vault.store.pathOf(owner.nodeId, chunk), 50)

  await assert.rejects(readBytes(owner, file.id))
  assert.equal(owner.networking!.auditor.faults().wrong, 1)
  assert.deepEqual(owner.vault.catalog.holders.of(chunk), [], 'the bad copy is no longer recorded')
  assert.equal(owner.vault.list()[0].replicas, 1)
  const health = await owner.health(file.id)
  assert.ok(!health.blobs.some(b => b.holders.some(h => h.confirmed === true && b.id === chunk)))
})
