// The journal: completion and deletion of files are sealed, durable facts in the owner's folder, so
// a catalog rebuilt from the blobs alone lists exactly the files that existed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { basename } from 'node:path'
import { sealChunk, sealManifest } from '../../src/crypto/index.ts'
import { deriveIdentity, newPhrase, phraseToSeed } from '../../src/identity/index.ts'
import { journalKey, sealJournalEntry, type JournalEntry } from '../../src/files/journal-seal.ts'
import { replayJournal } from '../../src/files/journal.ts'
import { inPieces, openTestVault, readAll, type TestVault } from './fixture.ts'

/** Leaves blobs of a killed put in the folder: a chunk and its manifest, never completed. */
async function strayPut (tv: TestVault, name: string): Promise<string> {
  const plain = randomBytes(50_000)
  const chunk = await sealChunk(tv.identity.vaultKey, Buffer.from(plain))
  const manifest = sealManifest(tv.identity.vaultKey, { v: 1, name, size: plain.length, mtime: '', ctime: '', chunks: [{ id: chunk.id, key: chunk.key, size: plain.length }] })
  await tv.store.put(tv.identity.nodeId, chunk.id, chunk.sealed)
  await tv.store.put(tv.identity.nodeId, manifest.id, manifest.sealed)
  return manifest.id
}

test('a catalog rebuilt from the blobs lists exactly the files that existed: removed and half-put files stay out', async (t) => {
  const tv = await openTestVault(t)
  const b = randomBytes(200_000)
  const a = await tv.vault.put(inPieces(randomBytes(200_000)), { name: 'A' })
  await tv.vault.put(inPieces(b), { name: 'B' })
  // A's blobs come back after its rm, as a holder that missed the deletion would give them back.
  const fileA = await tv.vault.open('A')
  const keptA = await Promise.all([a.id, ...fileA.manifest.chunks.map(c => c.id)].map(async id => ({ id, bytes: await tv.store.get(tv.identity.nodeId, id) })))
  await tv.vault.remove('A')
  for (const blob of keptA) await tv.store.put(tv.identity.nodeId, blob.id, blob.bytes)
  await strayPut(tv, 'C')

  await tv.reopenCatalog({ wipe: true })
  const result = await tv.vault.rebuild()
  assert.equal(result.history, 'journal')
  assert.deepEqual(tv.vault.list().map(f => f.name), ['B'])
  assert.ok((await readAll(tv.vault, 'B')).equals(b))
  // The history goes on after the rebuild: numbers are not reused, and the next rm sticks.
  await tv.vault.put(inPieces(randomBytes(1000)), { name: 'D' })
  await tv.vault.remove('B')
  await tv.reopenCatalog({ wipe: true })
  await tv.vault.rebuild()
  assert.deepEqual(tv.vault.list().map(f => f.name), ['D'])
})

test('a vault from before the journal (manifests only) rebuilds as before: every manifest, newest per name', async (t) => {
  const tv = await openTestVault(t)
  await tv.vault.put(inPieces(Buffer.from('one')), { name: 'x.txt' })
  await tv.vault.put(inPieces(Buffer.from('two')), { name: 'y.txt' })
  const old = await strayPut(tv, 'y.txt') // an older manifest of y.txt, left by a crash
  for (const file of await tv.journalFiles()) await rm(file)
  await tv.reopenCatalog({ wipe: true })
  const result = await tv.vault.rebuild()
  assert.equal(result.history, 'manifests')
  assert.deepEqual(tv.vault.list().map(f => f.name), ['x.txt', 'y.txt'])
  assert.notEqual(tv.vault.resolve('y.txt').id, old, 'the newer manifest of the name wins')
  assert.ok((await readAll(tv.vault, 'y.txt')).equals(Buffer.from('two')))
})

test('a catalog made before the journal gets a checkpoint at start; from then on the journal rules', async (t) => {
  const tv = await openTestVault(t)
  await tv.vault.put(inPieces(Buffer.from('kept')), { name: 'kept.txt' })
  // Make it a pre-journal catalog: no journal rows, no journal blobs.
  for (const file of await tv.journalFiles()) await rm(file)
  tv.catalog.db.exec('DELETE FROM journal; DELETE FROM journal_state')
  assert.equal(await tv.vault.startJournal(), true)
  assert.equal(await tv.vault.startJournal(), false, 'only once')
  assert.equal((await tv.journalFiles()).length, 1, 'one checkpoint part')
  await strayPut(tv, 'half.txt')
  await tv.reopenCatalog({ wipe: true })
  const result = await tv.vault.rebuild()
  assert.equal(result.history, 'journal')
  assert.deepEqual(tv.vault.list().map(f => f.name), ['kept.txt'])
})

test('a checkpoint collects the records it covers, and the rebuilt catalog is the same', async (t) => {
  const tv = await openTestVault(t)
  for (const name of ['a', 'b', 'c', 'd']) await tv.vault.put(inPieces(Buffer.from(name)), { name })
  await tv.vault.remove('b')
  await tv.vault.remove('d')
  assert.equal((await tv.journalFiles()).length, 7, 'the first checkpoint, four adds and two removes')
  await tv.vault.journal.checkpoint()
  assert.equal((await tv.journalFiles()).length, 1, 'the checkpoint alone')
  await tv.vault.put(inPieces(Buffer.from('e')), { name: 'e' })
  await tv.vault.remove('a')
  await tv.reopenCatalog({ wipe: true })
  await tv.vault.rebuild()
  assert.deepEqual(tv.vault.list().map(f => f.name), ['c', 'e'])
})

test('journal blobs of another vault, or altered ones, are not history', async (t) => {
  const tv = await openTestVault(t)
  const kept = await tv.vault.put(inPieces(Buffer.from('stay')), { name: 'stay.txt' })
  const other = await deriveIdentity(phraseToSeed(newPhrase()))
  // Another owner's record (or a holder's forgery) saying "stay.txt was removed", at a later seq.
  const line = tv.catalog.journal.line()!
  const forged = sealJournalEntry(journalKey(other.vaultKey), { v: 1, line, kind: 'remove', seq: 99, at: new Date().toISOString(), file: kept.id })
  await tv.store.put(tv.identity.nodeId, forged.id, forged.sealed)
  // One of ours with a byte flipped: it no longer matches its ID, and its tag would fail anyway.
  const real = sealJournalEntry(journalKey(tv.identity.vaultKey), { v: 1, line, kind: 'remove', seq: 100, at: new Date().toISOString(), file: kept.id })
  real.sealed[real.sealed.length - 3] ^= 1
  await tv.store.put(tv.identity.nodeId, real.id, real.sealed, true)
  await tv.reopenCatalog({ wipe: true })
  await tv.vault.rebuild()
  assert.deepEqual(tv.vault.list().map(f => f.name), ['stay.txt'])
})

test('replay uses the newest checkpoint whose parts are all there, and records after what it covers', () => {
  const f = (n: number): string => n.toString(16).padStart(64, '0')
  const at = '2026-01-01T00:00:00.000Z'
  const line = '1'.repeat(32)
  const cp = (seq: number, covers: number, id: string, part: number, parts: number, files: string[], absorbed: string[] = []): JournalEntry =>
    ({ v: 1, line, kind: 'checkpoint', seq, at, covers, cp: id.repeat(32), absorbed, part, parts, files })
  const entries = new Map<string, JournalEntry>([
    ['r1', { v: 1, line, kind: 'add', seq: 1, at, file: f(1) }],
    ['r2', { v: 1, line, kind: 'add', seq: 2, at, file: f(2) }],
    ['c3a', cp(3, 2, 'a', 0, 2, [f(1)])],
    ['c3b', cp(3, 2, 'a', 1, 2, [f(2)])],
    ['r4', { v: 1, line, kind: 'remove', seq: 4, at, file: f(1) }],
    ['r5', { v: 1, line, kind: 'add', seq: 5, at, file: f(5) }],
    // A newer checkpoint with a part missing is ignored: the older one and the records still say it all.
    ['c6a', cp(6, 5, 'b', 0, 2, [f(2)])],
    // A record the checkpoint covers (not collected yet) changes nothing.
    ['r0', { v: 1, line, kind: 'add', seq: 0, at, file: f(9) }]
  ])
  const replay = replayJournal(entries)
  assert.deepEqual([...replay.live].sort(), [f(2), f(5)])
  assert.equal(replay.headless, false)
  assert.equal(replay.incomplete, 1)
  assert.deepEqual([...replay.lines], [[line, 6]])
  assert.deepEqual([...replay.keep.keys()].sort(), ['c3a', 'c3b', 'r4', 'r5'])
})

test('replay merges histories: a new disk\'s own history and the old one both count until one absorbs the other', () => {
  const f = (n: number): string => n.toString(16).padStart(64, '0')
  const at = '2026-01-01T00:00:00.000Z'
  const [old, fresh] = ['0'.repeat(32), 'f'.repeat(32)]
  // The old disk's history, and a new disk that put (and compacted) before running recover.
  const entries = new Map<string, JournalEntry>([
    ['o0', { v: 1, line: old, kind: 'checkpoint', seq: 0, at, covers: -1, cp: 'a'.repeat(32), absorbed: [], part: 0, parts: 1, files: [] }],
    ['o1', { v: 1, line: old, kind: 'add', seq: 1, at, file: f(1) }],
    ['o2', { v: 1, line: old, kind: 'add', seq: 2, at, file: f(2) }],
    ['n9', { v: 1, line: fresh, kind: 'checkpoint', seq: 300, at, covers: 299, cp: 'b'.repeat(32), absorbed: [], part: 0, parts: 1, files: [f(7)] }],
    ['n10', { v: 1, line: fresh, kind: 'remove', seq: 301, at, file: f(2) }]
  ])
  assert.deepEqual([...replayJournal(entries).live].sort(), [f(1), f(7)], 'both histories count; a removal in either is final')
  entries.set('n11', { v: 1, line: fresh, kind: 'checkpoint', seq: 302, at, covers: 301, cp: 'c'.repeat(32), absorbed: [old], part: 0, parts: 1, files: [f(1), f(7)] })
  const merged = replayJournal(entries)
  assert.deepEqual([...merged.live].sort(), [f(1), f(7)])
  assert.deepEqual([...merged.lines.keys()], [fresh], 'the absorbed history is replayed no more')
})

test('a history whose first checkpoint is missing keeps every manifest it does not name', async (t) => {
  const tv = await openTestVault(t)
  await tv.vault.put(inPieces(Buffer.from('old')), { name: 'old.txt' })
  // A catalog from before the journal whose first checkpoint never reached any holder, then a put.
  for (const file of await tv.journalFiles()) await rm(file)
  tv.catalog.db.exec('DELETE FROM journal; DELETE FROM journal_state')
  tv.catalog.journal.setLine('2'.repeat(32))
  await tv.vault.put(inPieces(Buffer.from('new')), { name: 'new.txt' })
  await tv.reopenCatalog({ wipe: true })
  await tv.vault.rebuild()
  assert.deepEqual(tv.vault.list().map(f => f.name), ['new.txt', 'old.txt'])
})

test('after a crash, an rm whose remove record was written is finished, and a put whose add record was not completed is dropped', async (t) => {
  const tv = await openTestVault(t)
  const gone = await tv.vault.put(inPieces(Buffer.from('to be removed')), { name: 'gone.txt' })
  await tv.vault.put(inPieces(Buffer.from('stays')), { name: 'stays.txt' })
  // The rm got as far as its remove record, then the process died.
  const removal = await tv.vault.journal.append('remove', gone.id, 1)
  // A put got as far as its add record, then the process died.
  const row = tv.catalog.beginFile()
  const manifestId = await strayPut(tv, 'half.txt')
  tv.catalog.claimManifest(row, manifestId)
  const addition = await tv.vault.journal.append('add', manifestId, 1)
  await tv.reopenCatalog()
  await tv.vault.recoverFromCrash()
  assert.deepEqual(tv.vault.list().map(f => f.name), ['stays.txt'])
  const journal = (await tv.journalFiles()).map(p => basename(p))
  assert.ok(journal.includes(removal), 'the remove record is history now')
  assert.ok(!journal.includes(addition), 'the unfinished add record is gone')
  await tv.reopenCatalog({ wipe: true })
  await tv.vault.rebuild()
  assert.deepEqual(tv.vault.list().map(f => f.name), ['stays.txt'])
})

test('a put dropped after a crash leaves no unused sequence number behind its history\'s checkpoint (a recover would take it for a record on an unseen peer)', async (t) => {
  const tv = await openTestVault(t)
  await tv.vault.startJournal()
  await tv.vault.put(inPieces(Buffer.from('stays')), { name: 'stays.txt' })
  const halfPut = async (): Promise<void> => {
    const row = tv.catalog.beginFile()
    const manifestId = await strayPut(tv, 'half.txt')
    tv.catalog.claimManifest(row, manifestId)
    await tv.vault.journal.append('add', manifestId, 1)
    await tv.vault.put(inPieces(Buffer.from('later')), { name: 'later.txt' }) // a number after it is used
    await tv.reopenCatalog()
  }
  await halfPut()
  await tv.vault.recoverFromCrash()
  await tv.reopenCatalog({ wipe: true })
  assert.equal((await tv.vault.rebuild()).unseen, 1, 'without a checkpoint, the dropped record\'s number is a gap')

  await halfPut()
  await tv.vault.recoverFromCrash({ checkpoint: true })
  await tv.reopenCatalog({ wipe: true })
  const rebuilt = await tv.vault.rebuild()
  assert.equal(rebuilt.unseen, 0)
  assert.deepEqual(tv.vault.list().map(f => f.name), ['later.txt', 'stays.txt'])
})

test('numbers a failure burned in this catalog\'s own history are not taken for records on unseen peers (a crash while a recover is pending writes no checkpoint)', async (t) => {
  const tv = await openTestVault(t)
  await tv.vault.startJournal()
  const row = tv.catalog.beginFile()
  const manifestId = await strayPut(tv, 'half.txt')
  tv.catalog.claimManifest(row, manifestId)
  await tv.vault.journal.append('add', manifestId, 1)
  await tv.vault.put(inPieces(Buffer.from('later')), { name: 'later.txt' })
  await tv.reopenCatalog()
  await tv.vault.recoverFromCrash({ checkpoint: false })
  assert.equal((await tv.vault.rebuild()).unseen, 0)
})
