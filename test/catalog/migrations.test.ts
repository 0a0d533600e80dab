// The catalog's numbered migrations: a data dir written by an earlier release opens in this one
// with every file intact, a catalog of a newer release is refused, and each migration runs once.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cp, readdir, readFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DatabaseSync } from 'node:sqlite'
import { pino } from 'pino'
import { tempDir } from '../helpers/fs.ts'
import { createNode } from '../../src/index.ts'
import { Catalog, MIGRATIONS, catalogVersion, migrateCatalog } from '../../src/catalog/index.ts'
import { VaultError } from '../../src/errors.ts'
import { readBytes } from '../helpers/cluster.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/datadir-222338c', import.meta.url))
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a data dir written by the release before migrations opens with every file intact', async (t) => {
  const dir = join(await tempDir(t), 'data')
  await cp(FIXTURE, dir, { recursive: true })
  const node = await createNode({ dataDir: dir, listen: '127.0.0.1:0', api: '127.0.0.1:0' }, { log: pino({ level: 'silent' }) })
  t.after(async () => { await node.stop() })
  assert.deepEqual(node.vault.list().map(f => [f.name, f.size]), [['data/rand.bin', 300_000], ['hello.txt', 23]])
  assert.equal((await readBytes(node, 'hello.txt')).toString(), 'hello from release 0.1\n')
  assert.equal(sha(await readBytes(node, 'data/rand.bin')), '8cc999a0c008ac45d903e4b921a2880e6e08d92999a01f3331c7d9cf6d5a514a')
  assert.equal(catalogVersion(node.vault.catalog.db), MIGRATIONS.at(-1)!.version)
})

test('a catalog written by a newer release is refused, not guessed at', async (t) => {
  const path = join(await tempDir(t), 'catalog.db')
  const db = new DatabaseSync(path)
  db.exec(`PRAGMA user_version = ${MIGRATIONS.at(-1)!.version + 1}`)
  db.close()
  assert.throws(() => new Catalog(path, Buffer.alloc(32)), (err: unknown) => err instanceof VaultError && err.code === 'CORRUPT' && /newer release/.test(err.message))
})

test('migrations run in order, once each, and a failing one leaves the catalog at the last good version', async (t) => {
  const db = new DatabaseSync(join(await tempDir(t), 'm.db'))
  t.after(() => db.close())
  const ran: number[] = []
  const steps = [
    { version: 1, name: 'one', up: (d: DatabaseSync) => { ran.push(1); d.exec('CREATE TABLE a (x)') } },
    { version: 2, name: 'two', up: (d: DatabaseSync) => { ran.push(2); d.exec('ALTER TABLE a ADD COLUMN y') } }
  ]
  assert.deepEqual(migrateCatalog(db, steps), { from: 0, to: 2 })
  assert.deepEqual(migrateCatalog(db, steps), { from: 2, to: 2 })
  assert.deepEqual(ran, [1, 2])
  const broken = [...steps, { version: 3, name: 'broken', up: (d: DatabaseSync) => { d.exec('CREATE TABLE b (x)'); throw new Error('boom') } }]
  assert.throws(() => migrateCatalog(db, broken), /boom/)
  assert.equal(catalogVersion(db), 2)
  assert.equal(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'b'").get()!.n, 0, 'the failed step left nothing')
})

test('catalog/migrations.ts is the only place that creates or alters a table of catalog.db', async () => {
  const src = fileURLToPath(new URL('../../src/', import.meta.url))
  const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts') && f !== join('catalog', 'migrations.ts'))
  const offenders: string[] = []
  for (const f of files) if (/\b(CREATE (TABLE|INDEX)|ALTER TABLE)\b/.test(await readFile(join(src, f), 'utf8'))) offenders.push(f)
  assert.deepEqual(offenders, [])
})
