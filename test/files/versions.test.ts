// Versions of a name in one vault: the retention rules of prune (restic's forget semantics), its
// --dry-run, what it frees, and that a catalog rebuilt from the journal keeps every version.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { keptVersions } from '../../src/files/index.ts'
import { inPieces, openTestVault, readAll, vaultError } from './fixture.ts'

const kept = (ctimes: string[], policy: Parameters<typeof keptVersions>[1]): string[] =>
  [...keptVersions(ctimes.map(ctime => ({ ctime })), policy)].sort((a, b) => a - b).map(i => ctimes[i])

test('prune rules: keep-last, keep-daily and keep-weekly each keep the newest of their buckets, a version any rule keeps stays, the newest always stays', () => {
  const times = [
    '2026-11-02T08:00:00.000Z', // Monday, week 45
    '2026-11-08T23:00:00.000Z', // Sunday, week 45
    '2026-11-09T09:00:00.000Z', // Monday, week 46
    '2026-11-10T10:00:00.000Z',
    '2026-11-10T12:00:00.000Z',
    '2026-11-12T08:00:00.000Z',
    '2026-11-12T20:00:00.000Z'
  ]
  assert.deepEqual(kept(times, { keepLast: 2 }), times.slice(5))
  assert.deepEqual(kept(times, { keepDaily: 2 }), [times[4], times[6]], 'the newest of each of the last 2 days that have versions')
  assert.deepEqual(kept(times, { keepWeekly: 2 }), [times[1], times[6]], 'the newest of each of the last 2 ISO weeks')
  assert.deepEqual(kept(times, { keepLast: 1, keepWeekly: 3 }), [times[1], times[6]], 'only 2 weeks have versions')
  assert.deepEqual(kept(times, { keepLast: 3, keepDaily: 3 }), [times[2], times[4], times[5], times[6]], 'the union of both rules')
  assert.deepEqual(kept(times, { keepLast: 0 }), [times[6]], 'the newest is always kept')
  assert.deepEqual(kept(['2026-12-31T12:00:00.000Z', '2027-01-01T12:00:00.000Z', '2027-01-04T12:00:00.000Z'], { keepWeekly: 5 }),
    ['2027-01-01T12:00:00.000Z', '2027-01-04T12:00:00.000Z'], 'Thursday 31 Dec and Friday 1 Jan are one ISO week (2026-W53)')
})

test('prune --keep-daily on versions put over several days: the dry run drops nothing, then the dropped versions and their own chunks are gone and the kept ones read back', async (t) => {
  const { vault, blobFiles } = await openTestVault(t)
  const days = ['2026-11-01T10:00:00Z', '2026-11-01T18:00:00Z', '2026-11-02T09:00:00Z', '2026-11-03T08:00:00Z', '2026-11-03T20:00:00Z']
  const contents = days.map(() => randomBytes(50_000))
  const ids: string[] = []
  t.mock.timers.enable({ apis: ['Date'], now: Date.parse(days[0]) })
  for (const [i, day] of days.entries()) {
    t.mock.timers.setTime(Date.parse(day))
    ids.push((await vault.put(inPieces(contents[i]), { name: 'diary.txt' })).id)
  }
  t.mock.timers.reset()
  const other = await vault.put(inPieces(contents[0]), { name: 'copy-of-first.txt' }) // shares version 1's chunk

  const plan = await vault.prune({ keepDaily: 2, dryRun: true })
  assert.deepEqual(plan.droppedVersions.map(v => [v.name, v.version]), [['diary.txt', 1], ['diary.txt', 2], ['diary.txt', 4]])
  assert.deepEqual([plan.kept, plan.dropped, plan.bytesFreed], [3, 3, 100_000], 'version 1\'s chunk is shared: not freed')
  assert.equal(vault.versions('diary.txt').length, 5, 'a dry run drops nothing')

  const before = (await blobFiles()).length
  const done = await vault.prune({ keepDaily: 2, names: ['diary.txt'] })
  assert.deepEqual([done.kept, done.dropped, done.bytesFreed, done.dryRun], [2, 3, 100_000, false])
  assert.deepEqual(vault.versions('diary.txt').map(v => v.id), [ids[2], ids[4]])
  assert.equal((await blobFiles()).length, before - 3 - 2, 'three manifests and two unshared chunks gone')
  for (const i of [0, 1, 3]) await assert.rejects(vault.open(ids[i]), vaultError('NOT_FOUND'))
  assert.ok((await readAll(vault, await vault.open('diary.txt', { version: 1 }))).equals(contents[2]))
  assert.ok((await readAll(vault, 'diary.txt')).equals(contents[4]))
  assert.ok((await readAll(vault, other.id)).equals(contents[0]), 'the shared chunk stayed')
  await assert.rejects(vault.prune({}), vaultError('BAD_USAGE'))
  await assert.rejects(vault.prune({ keepLast: 1, names: ['nope.txt'] }), vaultError('NOT_FOUND'))
})

test('a catalog rebuilt from the journal keeps every version of a name, in order, and rm of one version stays removed', async (t) => {
  const tv = await openTestVault(t)
  const contents = [randomBytes(1000), randomBytes(2000), randomBytes(3000), randomBytes(4000)]
  const ids: string[] = []
  for (const content of contents) ids.push((await tv.vault.put(inPieces(content), { name: 'log.txt' })).id)
  await tv.vault.remove(ids[1])
  await tv.reopenCatalog({ wipe: true })
  const result = await tv.vault.rebuild()
  assert.equal(result.history, 'journal')
  assert.deepEqual(tv.vault.versions('log.txt').map(v => v.id), [ids[0], ids[2], ids[3]])
  for (const [n, i] of [[1, 0], [2, 2], [3, 3]]) {
    assert.ok((await readAll(tv.vault, await tv.vault.open('log.txt', { version: n }))).equals(contents[i]))
  }
})

test('a put made while the clock reads earlier than the newest version (set back) is still the newest: get reads it, prune --keep-last 1 keeps it', async (t) => {
  const { vault } = await openTestVault(t)
  const older = randomBytes(20_000)
  const newer = randomBytes(20_000)
  const first = await vault.put(inPieces(older), { name: 'clock.txt' })
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() - 3_600_000 }) // the clock set back an hour
  const second = await vault.put(inPieces(newer), { name: 'clock.txt' })
  t.mock.timers.reset()
  assert.deepEqual(vault.versions('clock.txt').map(v => v.id), [first.id, second.id], 'the put just made is version 2')
  assert.ok((await readAll(vault, 'clock.txt')).equals(newer), 'get reads the put just made')
  await vault.prune({ keepLast: 1 })
  assert.deepEqual(vault.versions('clock.txt').map(v => v.id), [second.id], 'prune kept the put just made')
  assert.ok((await readAll(vault, 'clock.txt')).equals(newer))
})
