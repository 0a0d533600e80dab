// A folder of over a thousand small files (one chunk each, named by its listing, not its manifest)
// over holders that each have part of it (--replicas 2): what they list spans more than one page
// (1,000) of the catalog, the first pass defers most chunks, and the folder's round must fetch
// every one of them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startCluster, putBytes, readBytes, replaceDisk } from '../helpers/cluster.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a folder of 1,300 files spread over the holders comes back whole: every chunk on the new disk', { timeout: 180_000 }, async (t) => {
  const cluster = await startCluster(t, 4, { replicas: 2 })
  const [a] = cluster.nodes
  const src = join(cluster.root, 'big-src')
  const files = new Map<string, Buffer>()
  for (let d = 0; d < 13; d++) {
    await mkdir(join(src, `d${d}`), { recursive: true })
    for (let f = 0; f < 100; f++) {
      const bytes = randomBytes(64 + ((d * 100 + f) % 300))
      files.set(join(`d${d}`, `f${f}.bin`), bytes)
      await writeFile(join(src, `d${d}`, `f${f}.bin`), bytes)
    }
  }
  const tree = await a.vault.putTree(src, { name: 'big', replicas: 2 })
  const plain = randomBytes(1_500_000)
  await putBytes(a, 'plain.bin', plain, 2)
  const chunks = await a.vault.treeChunksOf(tree.id)
  assert.ok(chunks.length > 1300, `${chunks.length} chunks`)

  const again = await replaceDisk(cluster, a, 'a-again')
  const result = await again.recover()
  assert.deepEqual([result.failed, result.denied, result.refused, result.unreferenced, result.missing, result.unseen], [0, 0, 0, 0, 0, 0], JSON.stringify(result))
  assert.equal(again.status().recoverPending, false)
  const absent: string[] = []
  for (const id of chunks) if (!await again.vault.store.has(again.nodeId, id)) absent.push(id)
  assert.deepEqual(absent, [], 'every chunk of the folder is on the new disk')
  const out = join(cluster.root, 'big-out')
  await again.vault.restoreTree(await again.vault.open('big'), out)
  for (const [name, bytes] of files) assert.equal(sha(await readFile(join(out, name))), sha(bytes), name)
  assert.equal(sha(await readBytes(again, 'plain.bin')), sha(plain))
  const rows = again.vault.catalog.db.prepare('SELECT (SELECT count(*) FROM recover_listed) + (SELECT count(*) FROM recover_marks) AS n').get() as { n: number }
  assert.equal(rows.n, 0)
})
