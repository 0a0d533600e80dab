// A put whose add record could not be written (the disk full, ENOSPC) burns that record's sequence
// number: it is dropped, and later records take the next numbers. With no checkpoint over it, every
// recover after the disk was lost counted that number as a record on a peer not seen (unseen 1):
// partial for ever, nothing settled, the deletions held since the loss never sent, and only
// --accept-missing (which drops whatever else is unseen) could end it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { startCluster, putBytes, readBytes, replaceDisk } from '../helpers/cluster.ts'
import { journalKey, openJournalEntry } from '../../src/files/journal-seal.ts'
import { VaultError } from '../../src/errors.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a put whose add record failed to be written leaves no gap in the history: a recover after the disk is lost completes', async (t) => {
  const cluster = await startCluster(t, 3)
  const [a] = cluster.nodes
  const first = randomBytes(40_000)
  await putBytes(a, 'first.bin', first)
  // The disk fills up just as the next put's add record is written.
  const store = a.vault.store
  const put = store.put.bind(store)
  const key = journalKey(a.identity.vaultKey)
  let failed = 0
  store.put = async (owner, id, data, ...rest) => {
    if (failed === 0 && owner === a.nodeId && openJournalEntry(key, data) !== null) {
      failed++
      throw new VaultError('INTERNAL', 'ENOSPC: no space left on device, write')
    }
    return await put(owner, id, data, ...rest)
  }
  await assert.rejects(putBytes(a, 'lost.bin', randomBytes(30_000)), /ENOSPC/)
  assert.equal(failed, 1)
  store.put = put
  const later = randomBytes(40_000)
  await putBytes(a, 'later.bin', later)
  const names = a.vault.list().map(f => f.name)
  assert.deepEqual(names, ['first.bin', 'later.bin'])

  const again = await replaceDisk(cluster, a, 'a-again')
  const result = await again.recover()
  assert.deepEqual([result.unseen, result.missing, result.failed], [0, 0, 0], JSON.stringify(result))
  assert.equal(again.status().recoverPending, false, 'the recover completed')
  assert.deepEqual(again.vault.list().map(f => f.name), names)
  assert.equal(sha(await readBytes(again, 'first.bin')), sha(first))
  assert.equal(sha(await readBytes(again, 'later.bin')), sha(later))
})
