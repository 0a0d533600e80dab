// Recovery by server folder: an owner whose disk died restores its identity from the phrase and
// pulls every file back from the folders its peers keep under its node ID.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { startCluster, putBytes, readBytes, replaceDisk, waitForMesh } from '../helpers/cluster.ts'
import { initDataDir } from '../../src/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a file put on a survives the loss of a\'s disk: same phrase, recover, every file back', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const files = new Map([['docs/report.pdf', randomBytes(3 * 1024 * 1024)], ['notes.txt', Buffer.from('remember the milk')], ['empty', Buffer.alloc(0)]])
  for (const [name, bytes] of files) await putBytes(a, name, bytes, name === 'notes.txt' ? 2 : 3)
  const listed = a.vault.list().map(f => `${f.name} ${f.id} ${f.size}`)
  const phrase = cluster.phrases.get(a.nodeId)!
  await a.stop()
  await rm(a.paths.root, { recursive: true, force: true }) // the disk is gone

  const newDir = join(cluster.root, 'a-again')
  const init = await initDataDir({ dataDir: newDir, recoverPhrase: phrase, joinKeyFile: b.paths.networkKey })
  assert.equal(init.nodeId, a.nodeId)
  const again = await cluster.add({}, newDir)
  await waitForMesh([again, b, c])
  assert.equal(again.vault.list().length, 0)
  const result = await again.recover()
  assert.equal(result.failed, 0)
  assert.equal(result.files, files.size)
  assert.deepEqual(again.vault.list().map(f => `${f.name} ${f.id} ${f.size}`), listed)
  for (const [name, bytes] of files) assert.equal(sha(await readBytes(again, name)), sha(bytes), name)
  assert.deepEqual(again.vault.list().map(f => [f.name, f.target]), [['docs/report.pdf', 3], ['empty', 3], ['notes.txt', 2]], 'each file keeps its own copy target')
  assert.equal(again.vault.list().every(f => f.replicas >= f.target), true, 'the holders are known again')
})

test('a recover run again fetches the chunks of a manifest already on this disk', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a] = cluster.nodes
  const bytes = randomBytes(600 * 1024)
  const put = await putBytes(a, 'again.bin', bytes, 3)
  const chunks = (await a.vault.open(put.id)).manifest.chunks.map(c => c.id)
  const again = await replaceDisk(cluster, a, 'a-again')
  await again.recover()
  // Its chunks lost here since (a recover cut short, a disk error): the manifest alone is left.
  for (const id of chunks) await again.vault.store.delete(again.nodeId, id)
  const second = await again.recover()
  assert.equal(second.unreferenced, 0, 'the manifest here names them')
  for (const id of chunks) assert.equal(await again.vault.store.has(again.nodeId, id), true)
  assert.equal(sha(await readBytes(again, 'again.bin')), sha(bytes))
})
