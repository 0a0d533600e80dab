// Message texts are sealed at rest; a catalog written by a release that kept them in clear is
// sealed when it opens, and its messages still show in history.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { MessageStore } from '../../src/messaging/message-store.ts'
import { migrateCatalog } from '../../src/catalog/index.ts'
import { tempDir } from '../helpers/fs.ts'

// The schema and rows as the release before sealing wrote them.
const OLD_SCHEMA = `
CREATE TABLE message_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, from_id TEXT NOT NULL,
  to_id TEXT NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL, sig TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')));
CREATE TABLE message_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, to_id TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0);`

async function bytesOf (dir: string): Promise<Buffer> {
  const names = (await readdir(dir)).filter(n => n.startsWith('catalog.db'))
  return Buffer.concat(await Promise.all(names.map(async n => await readFile(join(dir, n)))))
}

test('messages kept in clear by the previous release are sealed on open and still show in history', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'catalog.db')
  const old = new DatabaseSync(path)
  old.exec('PRAGMA journal_mode = WAL')
  old.exec(OLD_SCHEMA)
  const insert = old.prepare("INSERT INTO message_log (id, from_id, to_id, text, at, sig, direction) VALUES (?, 'A', 'B', ?, '2026-01-01T00:00:00.000Z', 'sig', ?)")
  insert.run('m1', 'old secret plans', 'received')
  insert.run('m2', 'queued secret', 'sent')
  old.prepare("INSERT INTO message_outbox (id, to_id) VALUES ('m2', 'B')").run()
  old.close()
  assert.ok((await bytesOf(dir)).includes('old secret plans'), 'the old release kept the text in clear')

  const key = randomBytes(32)
  const db = new DatabaseSync(path)
  db.exec('PRAGMA journal_mode = WAL')
  migrateCatalog(db) // as the catalog does when it opens, before the message store
  const store = new MessageStore(db, { maxHistory: 100, maxTextBytes: 1024 * 1024, maxOutbox: 100, textKey: key })
  assert.deepEqual(store.history(10).map(m => m.text), ['old secret plans', 'queued secret'])
  assert.equal(store.pendingFor('B', 10)[0].text, 'queued secret', 'the outbox still sends the exact text')
  store.record({ id: 'm3', from: 'A', to: 'B', text: 'new secret', at: '2026-01-02T00:00:00.000Z', sig: 'sig' }, 'sent')
  assert.equal(store.history(10).at(-1)?.text, 'new secret')
  db.close()
  const bytes = await bytesOf(dir)
  for (const text of ['old secret plans', 'queued secret', 'new secret']) assert.ok(!bytes.includes(text), `no "${text}" in the data dir`)

  const reopened = new DatabaseSync(path)
  assert.deepEqual(new MessageStore(reopened, { maxHistory: 100, maxTextBytes: 1024 * 1024, maxOutbox: 100, textKey: key }).history(10).map(m => m.text), ['old secret plans', 'queued secret', 'new secret'])
  reopened.close()
})

test('the message log is capped in bytes of text too, oldest dropped first, queued messages kept: members cannot grow catalog.db to GBs', async (t) => {
  const dir = await tempDir(t)
  const db = new DatabaseSync(join(dir, 'catalog.db'))
  db.exec('PRAGMA journal_mode = WAL')
  migrateCatalog(db)
  const key = randomBytes(32)
  const cap = 1024 * 1024
  const textBytes = (): number => (db.prepare('SELECT COALESCE(SUM(length(text_sealed)) + SUM(length(text)), 0) AS n FROM message_log').get() as { n: number }).n
  const store = new MessageStore(db, { maxHistory: 100_000, maxTextBytes: cap, maxOutbox: 100, textKey: key })
  const text = (i: number): string => `${String(i).padStart(6, '0')}${'x'.repeat(64 * 1024 - 6)}`
  // The first one of ours still waits for its peer: the outbox's only copy is never dropped.
  store.record({ id: 'queued', from: 'A', to: 'B', text: 'still to deliver', at: '2026-01-01T00:00:00.000Z', sig: 'sig' }, 'sent')
  store.enqueue('queued', 'B')
  // 200 texts of 64 KiB from members: 12.5 MiB, twelve times the cap.
  for (let i = 0; i < 200; i++) {
    store.record({ id: `m${i}`, from: 'C', to: '*', text: text(i), at: '2026-01-01T00:00:01.000Z', sig: 'sig' }, 'received')
    assert.ok(textBytes() <= cap, `after ${i + 1} messages the log holds ${textBytes()} bytes of text, over ${cap}`)
  }
  const kept = store.history(1000)
  assert.ok(kept.length >= 12 && kept.length < 20, `${kept.length} kept`)
  assert.equal(kept.at(-1)?.text, text(199), 'the newest is kept')
  const received = kept.filter(m => m.id !== 'queued').map(m => Number(m.id.slice(1)))
  assert.deepEqual(received, Array.from({ length: received.length }, (_, i) => 200 - received.length + i), 'the oldest went first, the rest in order')
  assert.equal(store.pendingFor('B', 10)[0]?.text, 'still to deliver')
  db.close()

  // A log over a smaller cap (the cap lowered, or a catalog of a release without it) is cut on open.
  const reopened = new DatabaseSync(join(dir, 'catalog.db'))
  new MessageStore(reopened, { maxHistory: 100_000, maxTextBytes: 256 * 1024, maxOutbox: 100, textKey: key }) // eslint-disable-line no-new
  const left = (reopened.prepare('SELECT COALESCE(SUM(length(text_sealed)), 0) AS n FROM message_log').get() as { n: number }).n
  assert.ok(left <= 256 * 1024, `${left} bytes left`)
  reopened.close()
})
