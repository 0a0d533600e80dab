// Audits: the owner notices holders that lost or damaged its blobs, drops those copies from the
// catalog and has repair remake them, so redundancy is never lost silently.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { copyFile, rm, unlink, readFile, writeFile } from 'node:fs/promises'
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
  await waitFor('n1 to notice n2 lost its copies and refill it', () => heldBy(n2again, n1.nodeId) >= heldBy(n3, n1.nodeId) && n1.vault.list().every(f => f.replicas === 3), 30_000)

  const n3again = await replaceDisk(cluster, n3, 'n3-again')
  await waitForMesh([n1, n2again, n3again])
  await waitFor('n1 to notice n3 lost its copies and refill it', () => heldBy(n3again, n1.nodeId) >= heldBy(n2again, n1.nodeId) && n1.vault.list().every(f => f.replicas === 3), 30_000)

  const listed = n1.vault.list().map(f => `${f.name} ${f.id} ${f.size}`)
  const n1again = await replaceDisk(cluster, n1, 'n1-again')
  await waitForMesh([n1again, n2again, n3again])
  const result = await n1again.recover()
  assert.equal(result.failed, 0)
  assert.deepEqual(n1again.vault.list().map(f => `${f.name} ${f.id} ${f.size}`), listed)
  for (const [name, bytes] of files) assert.equal(sha(await readBytes(n1again, name)), sha(bytes), name)
})
