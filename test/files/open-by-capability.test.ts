// A get by capability on a node that holds nothing of the owner: info, then the file. The manifest
// is fetched from the holders once; the second open uses the file the first one opened.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { startCluster, putBytes, readBytes } from '../helpers/cluster.ts'

test('a file opened by capability on an empty node is read without fetching its manifest again', async (t) => {
  const { nodes: [owner, reader] } = await startCluster(t, 2, { replicas: 1 })
  const data = randomBytes(300_000)
  const put = await putBytes(owner, 'shared.bin', data)
  const cap = await owner.vault.share('shared.bin')
  assert.equal(await reader.vault.store.has(owner.nodeId, put.id), false, 'the reader holds nothing of the owner')

  const info = await reader.vault.open(cap) // what GET /api/files/<cap>/info does
  assert.equal(info.size, data.length)
  // The manifest is gone from the only node that had it: a second fetch of it would fail.
  await rm(owner.vault.store.pathOf(owner.nodeId, put.id))
  assert.equal(await owner.vault.store.has(owner.nodeId, put.id), false)

  assert.ok((await readBytes(reader, cap)).equals(data), 'the get that follows the info reads the file')
})
