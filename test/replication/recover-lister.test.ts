// A member that lists blobs in the owner's folder and then does not give them (it says it lacks
// them, or serves bytes that are not them) must not keep the owner's `recover` partial for ever:
// a partial recover writes no checkpoint, collects nothing and keeps the deletions held since the
// disk was lost. A blob every lister denies is not held (a holder can always withhold one by not
// listing it); a blob a lister could not be asked about (away, timed out) still makes it partial.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { startCluster, putBytes, readBytes, replaceDisk } from '../helpers/cluster.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('blobs a member lists but will not give do not keep recover partial, and it is not recorded as their holder', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a, b, hostile] = cluster.nodes
  const bytes = randomBytes(300 * 1024)
  await putBytes(a, 'kept.bin', bytes, 3)

  // In its folder of a's blobs: a file whose bytes are not its ID (served: CORRUPT), and an ID it
  // lists without any file behind it (asked for: NOT_FOUND).
  const wrong = sha(randomBytes(32))
  const path = hostile.vault.store.pathOf(a.nodeId, wrong)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, randomBytes(1024))
  const absent = sha(randomBytes(32))
  const list = hostile.vault.store.list.bind(hostile.vault.store)
  hostile.vault.store.list = async function * (owner: string) {
    const ids = [] as string[]
    for await (const id of list(owner)) ids.push(id)
    if (owner === a.nodeId) ids.push(absent)
    yield * ids.sort()
  }

  const again = await replaceDisk(cluster, a, 'a-again')
  assert.equal(again.status().recoverPending, true)
  const result = await again.recover()
  assert.equal(result.failed, 0, 'nothing a lister could be asked about failed')
  assert.equal(result.denied, 2, 'the two blobs the member listed and would not give')
  assert.equal(result.files, 1)
  assert.equal(sha(await readBytes(again, 'kept.bin')), sha(bytes))
  assert.equal(again.status().recoverPending, false, 'the recover completed: the held deletions may go')
  for (const id of [wrong, absent]) {
    assert.deepEqual(again.vault.catalog.holders.of(id), [], 'the member is not recorded as a holder of what it would not give')
    assert.equal(await again.vault.store.has(again.nodeId, id), false)
  }
  assert.ok(b.nodeId !== hostile.nodeId)
})
