// Versions across nodes: a capability names one version and works until that version is pruned;
// prune frees the pruned version's own chunks on every holder and keeps the chunks a kept version
// shares; a lost disk recovered from the holders brings back every version, in order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startCluster, putBytes, readBytes, replaceDisk } from '../helpers/cluster.ts'
import type { VaultNode } from '../../src/index.ts'
import { waitFor } from '../helpers/cli.ts'
import { VaultError } from '../../src/errors.ts'

const MiB = 1024 * 1024
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function holds (node: VaultNode, owner: string, id: string): Promise<boolean> {
  return await node.vault.store.size(owner, id).then(() => true, () => false)
}

test('a capability of an old version reads it on another node until prune drops it; the holders lose its own chunks and keep the shared ones', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const v1 = randomBytes(8 * MiB)
  const v2 = Buffer.concat([v1.subarray(0, 6 * MiB), randomBytes(2 * MiB)]) // the same first chunks, a new end
  const first = await putBytes(a, 'report.pdf', v1, 3)
  const second = await putBytes(a, 'report.pdf', v2, 3)
  const chunks1 = (await a.vault.open(first.id)).manifest.chunks.map(ch => ch.id)
  const chunks2 = new Set((await a.vault.open(second.id)).manifest.chunks.map(ch => ch.id))
  const own = [first.id, ...chunks1.filter(id => !chunks2.has(id))]
  const shared = chunks1.filter(id => chunks2.has(id))
  assert.ok(own.length >= 2 && shared.length >= 1, `version 1 has chunks of its own (${own.length - 1}) and shared ones (${shared.length})`)

  const capability = await a.vault.share(first.id)
  assert.equal(sha(await readBytes(b, capability)), sha(v1), 'the capability reads version 1, not the newest')
  assert.equal(sha(await readBytes(c, await a.vault.share('report.pdf'))), sha(v2))

  const result = await a.vault.prune({ keepLast: 1 })
  assert.deepEqual([result.kept, result.dropped], [1, 1])
  for (const holder of [a, b, c]) {
    await waitFor(`${holder === a ? 'the owner' : 'a holder'} to drop version 1's own blobs`, async () => {
      for (const id of own) if (await holds(holder, a.nodeId, id)) return false
      return true
    })
    for (const id of [second.id, ...shared]) assert.ok(await holds(holder, a.nodeId, id), 'what version 2 uses stays')
  }
  await assert.rejects(readBytes(b, capability), (err: unknown) => err instanceof VaultError && err.code === 'NOT_FOUND')
  assert.equal(sha(await readBytes(b, await a.vault.share('report.pdf'))), sha(v2))
})

test('after the disk is lost, recover brings back every version of a name in order, each byte-identical', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a] = cluster.nodes
  const contents = [randomBytes(300_000), randomBytes(500_000), randomBytes(200_000)]
  const ids: string[] = []
  for (const content of contents) ids.push((await putBytes(a, 'plan.txt', content, 3)).id)
  await putBytes(a, 'other.txt', randomBytes(1000), 3)
  // A checkpoint, then one more version after it: both the checkpoint and the records are replayed.
  await a.vault.journal.checkpoint()
  const last = randomBytes(100_000)
  contents.push(last)
  ids.push((await putBytes(a, 'plan.txt', last, 3)).id)

  const again = await replaceDisk(cluster, a, 'a-again')
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.deepEqual(again.vault.list().map(f => [f.name, f.versions]), [['other.txt', 1], ['plan.txt', 4]])
  assert.deepEqual(again.vault.versions('plan.txt').map(v => v.id), ids)
  for (const [i, content] of contents.entries()) {
    const file = await again.vault.open('plan.txt', { version: i + 1 })
    const parts: Buffer[] = []
    for await (const part of again.vault.read(file)) parts.push(part)
    assert.equal(sha(Buffer.concat(parts)), sha(content), `version ${i + 1}`)
  }
})
