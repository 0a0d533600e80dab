// A hostile member and the owner's `recover` (security audit): the owner asks every peer to LIST
// its blobs, and a member may list anything. Before, every listed ID was kept in a Map and every
// listed blob was fetched and written: a member listing an endless ascending sequence kept recover
// in its listing phase for ever with its memory growing, and junk blobs a member made (their IDs
// are their hashes, so they pass the check) filled the owner's disk. Now the listings go to the
// catalog, one peer may list so many IDs (beyond, it is refused and the recover stays partial), and
// only the owner's history, its manifests and the chunks they name are written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startCluster, putBytes, readBytes, replaceDisk } from '../helpers/cluster.ts'
import type { VaultNode } from '../../src/index.ts'
import type { RecoverLine } from '../../src/api/index.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** `hostile`'s listing of `owner`'s folder: what it holds, then ascending IDs that never end. */
function listEndlessly (hostile: VaultNode, owner: string): { listed: () => number } {
  const list = hostile.vault.store.list.bind(hostile.vault.store)
  let listed = 0
  hostile.vault.store.list = async function * (who: string) {
    if (who !== owner) { yield * list(who); return }
    const held: string[] = []
    for await (const id of list(who)) held.push(id)
    held.sort()
    // Counters in 64 hex digits sort before any real ID (they start with zeros), so the held ones come last (never).
    for (let i = 1; ; i++) {
      listed++
      yield i.toString(16).padStart(64, '0')
    }
  }
  return { listed: () => listed }
}

test('a member listing an endless ascending sequence of IDs is cut off: recover ends, says so, and stays partial', async (t) => {
  const maxListed = 3000
  const cluster = await startCluster(t, 3)
  const [a, , hostile] = cluster.nodes
  const bytes = randomBytes(200 * 1024)
  await putBytes(a, 'kept.bin', bytes, 3)
  const endless = listEndlessly(hostile, a.nodeId)

  const again = await replaceDisk(cluster, a, 'a-again')
  // Through the API, as `recover --max-listed 3000` asks (the default is 2 million).
  const { url, token } = JSON.parse(await readFile(again.paths.apiFile, 'utf8')) as { url: string, token: string }
  const post = async (query: string): Promise<Response> => await fetch(new URL(`/api/recover?${query}`, url), { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) })
  assert.equal((await post('maxListed=0')).status, 400)
  const started = Date.now()
  const response = await post(`maxListed=${maxListed}`)
  const lines = (await response.text()).trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
  const result = lines[lines.length - 1] as RecoverLine
  assert.ok(Date.now() - started < 60_000)
  assert.equal(result.phase, 'done')
  assert.equal(result.refused, 1, 'the endless lister')
  // The member's side runs ahead of what was read by what the stream buffers.
  assert.ok(endless.listed() < 200_000, `the listing stopped soon after the cap (${endless.listed()} listed)`)
  assert.equal(result.denied, 0, 'nothing it listed was asked for')
  assert.equal(result.failed, 0)
  assert.equal(result.files, 1, 'the files the honest holder had came back')
  assert.equal(sha(await readBytes(again, 'kept.bin')), sha(bytes))
  assert.equal(again.status().recoverPending, true, 'a refused listing is a folder not seen whole: nothing settled')
  const rows = again.vault.catalog.db.prepare('SELECT (SELECT count(*) FROM recover_listed) + (SELECT count(*) FROM recover_marks) AS n').get() as { n: number }
  assert.equal(rows.n, 0, 'the listings are dropped once recover ends')
})

test('junk blobs a member made and serves correctly are not written on the recovering owner\'s disk', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, , hostile] = cluster.nodes
  const files = new Map([['big.bin', randomBytes(2 * 1024 * 1024 + 5)], ['small.txt', Buffer.from('hello')]])
  for (const [name, bytes] of files) await putBytes(a, name, bytes, 3)
  // A folder: its entries' chunks are named by its listing, not by its manifest.
  const src = join(cluster.root, 'tree-src')
  await mkdir(join(src, 'sub'), { recursive: true })
  const treeFiles = new Map([['one.txt', randomBytes(70_000)], [join('sub', 'two.bin'), randomBytes(300_000)]])
  for (const [name, bytes] of treeFiles) await writeFile(join(src, name), bytes)
  await a.vault.putTree(src, { name: 'folder', replicas: 3 })
  await a.vault.journal.checkpoint()
  const names = a.vault.list().map(f => f.name).sort()

  // Junk in its folder of a's blobs: bytes whose ID is their hash, so each one serves correctly.
  const junk: string[] = []
  for (const size of [10, 4096, 90_000, 1024 * 1024]) {
    for (let i = 0; i < 5; i++) {
      const bytes = randomBytes(size)
      const id = sha(bytes)
      await hostile.vault.store.put(a.nodeId, id, bytes)
      junk.push(id)
    }
  }

  const again = await replaceDisk(cluster, a, 'a-again')
  // Not even for a while: a complete recover used to collect it at the end, after it had filled the disk.
  const written = new Set<string>()
  const put = again.vault.store.put.bind(again.vault.store)
  again.vault.store.put = async (owner, id, ...rest) => { written.add(id); await put(owner, id, ...rest) }
  const result = await again.recover()
  for (const id of junk) assert.equal(written.has(id), false, `junk ${id.slice(0, 12)} was never written on the owner's disk`)
  for (const id of junk) assert.equal(await again.vault.store.has(again.nodeId, id), false)
  assert.equal(result.failed, 0)
  assert.equal(result.refused, 0)
  assert.equal(result.unreferenced, junk.length, 'the junk is counted')
  for (const id of junk) assert.deepEqual(again.vault.catalog.holders.of(id), [], 'the member is not recorded as a holder of its junk')
  assert.deepEqual(again.vault.list().map(f => f.name).sort(), names)
  for (const [name, bytes] of files) assert.equal(sha(await readBytes(again, name)), sha(bytes), name)
  const out = join(cluster.root, 'tree-out')
  await again.vault.restoreTree(await again.vault.open('folder'), out)
  for (const [name, bytes] of treeFiles) assert.equal(sha(await readFile(join(out, name))), sha(bytes), name)
  assert.equal(again.status().recoverPending, false, 'junk does not keep the recover partial')
  for (const id of junk) assert.equal(again.vault.catalog.journal.isBuried(id), true, 'and the holder sweep is told to drop it')
})
