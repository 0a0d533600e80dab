// A file put on one node survives that node: copies on R nodes in all, reads from holders while the
// owner is away, deletions reach holders (even late ones), and repair once peers appear.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { open, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startCluster, putBytes, readBytes, waitForMesh } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/cli.ts'
import type { VaultNode } from '../../src/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function blobsIn (node: VaultNode, owner: string): Promise<string[]> {
  const entries = await readdir(join(node.paths.storage, owner), { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter(e => e.isFile()).map(e => e.name).sort()
}

test('a put with 3 replicas stores every chunk on 3 nodes, in the owner\'s folder on each holder', async (t) => {
  const { nodes: [a, b, c] } = await startCluster(t, 3)
  const marker = 'MARKER-CONTENT-7f3a'
  const bytes = Buffer.concat([randomBytes(3 * 1024 * 1024), Buffer.from(marker.repeat(1000))])
  const result = await putBytes(a, 'secret-name-q9.txt', bytes, 3)
  assert.equal(result.replicas, 3)
  assert.equal(result.underReplicated, false)
  const own = await blobsIn(a, a.nodeId)
  assert.ok(own.length >= 2)
  assert.deepEqual(await blobsIn(b, a.nodeId), own, 'b holds every blob of a, under storage/<a>/')
  assert.deepEqual(await blobsIn(c, a.nodeId), own)
  assert.equal(b.status().storage[a.nodeId], a.status().storage[a.nodeId])
  assert.equal(b.status().files, 0, 'holders list no file of the owner')
  // Holders see ciphertext only: neither the content nor the name is anywhere in b's data dir.
  const files = await readdir(b.paths.root, { recursive: true, withFileTypes: true })
  for (const f of files.filter(e => e.isFile())) {
    // A file may go between the listing and the read (the peers file's temp, renamed into place).
    const data = await readFile(join(f.parentPath, f.name)).catch((err: NodeJS.ErrnoException) => { if (err.code === 'ENOENT') return Buffer.alloc(0); throw err })
    assert.equal(data.includes(marker), false, `${f.name} reveals content`)
    assert.equal(data.includes('secret-name-q9'), false, `${f.name} reveals the name`)
  }
  const health = await a.health('secret-name-q9.txt')
  assert.equal(health.ok, true)
  for (const blob of health.blobs) {
    assert.equal(blob.copies, 3)
    assert.deepEqual(blob.holders.map(h => h.nodeId).sort(), [b.nodeId, c.nodeId].sort())
    assert.ok(blob.holders.every(h => h.online && h.confirmed === true))
  }
})

test('a shared file is readable from a node holding nothing while the owner is offline', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b] = cluster.nodes
  const bytes = randomBytes(5 * 1024 * 1024)
  await putBytes(a, 'movie.bin', bytes, 3)
  const capability = await a.vault.share('movie.bin')
  const d = await cluster.add()
  await waitForMesh([b, cluster.nodes[2], d])
  assert.deepEqual(await blobsIn(d, a.nodeId), [], 'd holds nothing of a')
  await a.stop()
  await waitFor('b to see a gone', () => !b.networking!.network.isConnected(a.nodeId))
  assert.equal(sha(await readBytes(d, capability)), sha(bytes))
  // Without the read key, the file ID alone opens nothing on another node.
  const id = capability.split('.')[1]
  await assert.rejects(d.vault.open(id), { code: 'NOT_FOUND' })
})

test('with too few peers a put succeeds under-replicated, and the copies are made when peers appear', async (t) => {
  const cluster = await startCluster(t, 1)
  const [a] = cluster.nodes
  const bytes = randomBytes(2 * 1024 * 1024)
  const result = await putBytes(a, 'lonely.bin', bytes, 3)
  assert.equal(result.replicas, 1)
  assert.equal(result.underReplicated, true)
  assert.equal(a.status().underReplicated, 1)
  const b = await cluster.add()
  const c = await cluster.add()
  await waitForMesh([a, b, c])
  await waitFor('repair to reach 3 copies', () => a.status().underReplicated === 0 && a.vault.list()[0].replicas === 3, { timeoutMs: 20_000 })
  assert.deepEqual(await blobsIn(b, a.nodeId), await blobsIn(a, a.nodeId))
})

test('rm reaches the holders, keeps chunks another file uses, and a holder offline learns it on return', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const shared = randomBytes(2 * 1024 * 1024)
  await putBytes(a, 'one.bin', shared, 3)
  await putBytes(a, 'two.bin', shared, 3)
  const only = randomBytes(2 * 1024 * 1024)
  await putBytes(a, 'three.bin', only, 3)
  const before = b.status().storage[a.nodeId]
  const cDir = c.paths.root
  await c.stop()
  await waitFor('a to see c gone', () => !a.networking!.network.isConnected(c.nodeId))
  await a.vault.remove('one.bin')
  await a.vault.remove('three.bin')
  assert.equal(sha(await readBytes(b, await a.vault.share('two.bin'))), sha(shared), 'the shared chunks stay readable')
  const after = b.status().storage[a.nodeId]
  assert.ok(after < before - 2 * 1024 * 1024 + 4096, `b reclaimed three.bin's chunks (${before} → ${after})`)
  assert.deepEqual(await blobsIn(b, a.nodeId), await blobsIn(a, a.nodeId))

  const back = await cluster.add({}, cDir)
  await waitForMesh([a, b, back])
  await waitFor('c to drop what was deleted while it was away', async () =>
    JSON.stringify(await blobsIn(back, a.nodeId)) === JSON.stringify(await blobsIn(a, a.nodeId)), { timeoutMs: 15_000 })
})

test('a full holder refuses and the owner places the copy on the next peer', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  const full = await cluster.add({ maxStorageBytes: 1000 })
  await waitForMesh([a, b, c, full])
  const bytes = randomBytes(4 * 1024 * 1024)
  const result = await putBytes(a, 'big.bin', bytes, 3)
  assert.equal(result.replicas, 3)
  // The file's chunks and manifest (the journal's small records may fit on the full holder).
  const journal = new Set((a.vault.catalog.db.prepare('SELECT blob_id FROM journal').all() as Array<{ blob_id: string }>).map(r => r.blob_id))
  const fileBlobsIn = async (n: VaultNode): Promise<string[]> => (await blobsIn(n, a.nodeId)).filter(id => !journal.has(id))
  assert.deepEqual(await fileBlobsIn(full), [], 'the full holder stored nothing of the file')
  assert.deepEqual(await fileBlobsIn(b), await fileBlobsIn(a))
  assert.deepEqual(await fileBlobsIn(c), await fileBlobsIn(a))
})

test('a holder stopped during a put does not stall it: the copies go to the next peers', async (t) => {
  const cluster = await startCluster(t, 4)
  const [a, b, c, d] = cluster.nodes
  const bytes = randomBytes(12 * 1024 * 1024)
  const put = putBytes(a, 'during.bin', bytes, 3)
  await waitFor('the first copies on b', async () => (await blobsIn(b, a.nodeId)).length > 0 || (await blobsIn(c, a.nodeId)).length > 0, { timeoutMs: 10_000, intervalMs: 5 })
  await b.stop()
  const result = await put
  assert.equal(result.replicas, 3)
  // Every blob has two copies besides the owner's: on b if b took it before it stopped, else on c and d.
  const [onB, onC, onD] = await Promise.all([b, c, d].map(async n => new Set(await blobsIn(n, a.nodeId))))
  for (const id of await blobsIn(a, a.nodeId)) {
    assert.ok([onB, onC, onD].filter(s => s.has(id)).length >= 2, `blob ${id.slice(0, 8)} has two copies on peers`)
  }
  assert.equal(sha(await readBytes(a, 'during.bin')), sha(bytes))
})

test('every node hears that an owner stored or removed a file, with its size and nothing else', async (t) => {
  const { nodes: [a, b, c] } = await startCluster(t, 3)
  const heard: Array<{ from: string, kind: string, data: Record<string, unknown> }> = []
  for (const n of [b, c]) n.messenger().onAnnouncement(x => heard.push(x))
  const { token } = JSON.parse(await readFile(a.paths.apiFile, 'utf8'))
  const headers = { authorization: `Bearer ${token}` }
  const put = await fetch(`${a.apiUrl}/api/files?name=announced.txt`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: 'twelve bytes' })
  assert.equal(put.status, 201)
  await waitFor('b and c to hear file-stored', () => heard.filter(x => x.kind === 'file-stored').length === 2)
  assert.equal((await fetch(`${a.apiUrl}/api/files/announced.txt`, { method: 'DELETE', headers })).status, 200)
  await waitFor('b and c to hear file-removed', () => heard.filter(x => x.kind === 'file-removed').length === 2)
  for (const x of heard.filter(x => x.kind.startsWith('file-'))) {
    assert.equal(x.from, a.nodeId)
    assert.deepEqual(x.data, { owner: a.nodeId, bytes: 12 })
  }
})

test('--replicas all keeps a copy on every peer, including one that joins later', async (t) => {
  const cluster = await startCluster(t, 3, { replicas: 'all' })
  const [a, b, c] = cluster.nodes
  const result = await putBytes(a, 'everywhere.bin', randomBytes(1024 * 1024))
  assert.equal(result.replicas, 3)
  assert.equal(result.target, 'all')
  const d = await cluster.add()
  await waitForMesh([a, b, c, d])
  await waitFor('the new peer to get its copy', async () => JSON.stringify(await blobsIn(d, a.nodeId)) === JSON.stringify(await blobsIn(a, a.nodeId)) && a.vault.list()[0].replicas === 4, { timeoutMs: 15_000 })
  assert.equal(a.status().underReplicated, 0)
})

test('a get through a capability keeps going when the owner stops in the middle of it', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  // 8 MiB: several chunks, so the owner stops after the first with the rest still to come.
  const bytes = randomBytes(8 * 1024 * 1024)
  await putBytes(a, 'long.bin', bytes, 3)
  const capability = await a.vault.share('long.bin')
  const d = await cluster.add()
  await waitForMesh([a, b, c, d])
  const file = await d.vault.open(capability)
  const parts: Buffer[] = []
  let stopped: Promise<void> | undefined
  for await (const part of d.vault.read(file)) {
    parts.push(part)
    stopped ??= a.stop() // the owner, asked first for every chunk, goes away after the first one
  }
  await stopped
  assert.equal(sha(Buffer.concat(parts)), sha(bytes))
})

test('chunks of a put cut short by a crash are dropped from the holders too once the owner is back', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, c] = cluster.nodes
  await putBytes(a, 'half.bin', randomBytes(3 * 1024 * 1024), 3)
  assert.ok((await blobsIn(b, a.nodeId)).length > 0)
  const dir = a.paths.root
  await a.stop()
  // Make it look like a's process died in the middle of that put: the file is still pending and
  // node.pid names a process that is gone.
  const { DatabaseSync } = await import('node:sqlite')
  const db = new DatabaseSync(join(dir, 'catalog.db'))
  db.exec("UPDATE files SET state = 'pending'")
  db.exec("UPDATE journal SET state = 'pending' WHERE kind = 'add'") // committed with the file, so unfinished with it
  db.close()
  await writeFile(join(dir, 'node.pid'), '999999\n')
  const back = await cluster.add({}, dir)
  await waitForMesh([back, b, c])
  assert.deepEqual(back.vault.list(), [])
  // What remains of a is its journal (the first checkpoint): the put never happened.
  const journal = new Set((back.vault.catalog.db.prepare('SELECT blob_id FROM journal').all() as Array<{ blob_id: string }>).map(r => r.blob_id))
  const onlyJournal = (ids: string[]): boolean => ids.every(id => journal.has(id))
  assert.ok(onlyJournal(await blobsIn(back, back.nodeId)))
  await waitFor('b and c to drop the crashed put\'s blobs', async () =>
    onlyJournal(await blobsIn(b, back.nodeId)) && onlyJournal(await blobsIn(c, back.nodeId)), { timeoutMs: 15_000 })
})

test('a get written straight to a file takes chunks missing or damaged here from the holders', async (t) => {
  const { nodes: [a] } = await startCluster(t, 2)
  const bytes = randomBytes(6 * 1024 * 1024)
  await putBytes(a, 'to-file.bin', bytes, 2)
  const file = await a.vault.open('to-file.bin')
  const [lost, flipped] = file.manifest.chunks
  await rm(a.vault.store.pathOf(a.nodeId, lost.id))
  const damaged = await readFile(a.vault.store.pathOf(a.nodeId, flipped.id))
  damaged[100] ^= 1
  await writeFile(a.vault.store.pathOf(a.nodeId, flipped.id), damaged)

  const out = join(a.paths.root, 'out.bin')
  const fh = await open(out, 'w')
  let progress = 0
  try {
    assert.equal(await a.vault.writeTo(file, fh.fd, undefined, (n) => { progress = n }), bytes.length)
  } finally {
    await fh.close()
  }
  assert.equal(progress, bytes.length)
  assert.equal(sha(await readFile(out)), sha(bytes))
})
