// Folder sync through the CLI, the node a separate process with the default debounce (1 s of
// quiet, 10 s at most): a change becomes a version that get -o restores, a burst of writes gives one
// or two versions, .dvignore'd files are not stored, a node stopped while the folder changed
// catches up at its next start, --stop stops, --list and status show the state, and a name is
// synced from one folder only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { apiJson, runCli, startCliNode, sharedCliNode, tempDir, waitFor, type CliNode } from '../helpers/cli.ts'

interface SyncView { name: string, dir: string, state: string, lastStoredAt: string | null, lastVersion: number | null, lastId: string | null, pendingChanges: number, lastError: string | null }

async function cliJson<T> (args: string[], data: string): Promise<T> {
  const res = await runCli([...args, '--json', '--data', data])
  assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`)
  return JSON.parse(res.stdout) as T
}

async function syncOf (node: CliNode, name: string): Promise<SyncView | undefined> {
  return (await cliJson<SyncView[]>(['sync', '--list'], node.dataDir)).find(s => s.name === name)
}

/** Polls the node's API (no CLI process per poll), then reads the view once through `sync --list`. */
async function waitForVersion (node: CliNode, name: string, version: number, timeoutMs = 30_000): Promise<SyncView> {
  await waitFor(`version ${version} of ${name}`, async () => {
    const view = (await apiJson<SyncView[]>(node.dataDir, '/api/sync')).find(s => s.name === name)
    return view !== undefined && (view.lastVersion ?? 0) >= version
  }, { timeoutMs, intervalMs: 100 })
  const view = await syncOf(node, name)
  assert.ok(view !== undefined && (view.lastVersion ?? 0) >= version, `sync --list shows version ${version} of ${name}`)
  return view
}

/**
 * The node of the first two tests, started by the first (a node process costs ~2 CPU-seconds):
 * each syncs a folder of its own name; the second asserts only on its own.
 */
const sharedNode = sharedCliNode('dv-sync-', ['--replicas', '1'])

async function pathsIn (node: CliNode, name: string): Promise<string[]> {
  return (await cliJson<Array<{ path: string }>>(['ls', name], node.dataDir)).map(e => e.path)
}

test('sync DIR: a change is stored within seconds as a new version that get -o restores; --list, status and a second sync of the name', async (t) => {
  const dir = await tempDir(t)
  const node = await sharedNode()
  const src = join(dir, 'work')
  await mkdir(join(src, 'sub'), { recursive: true })
  await writeFile(join(src, '.dvignore'), '*.log\ncache/\n')
  await writeFile(join(src, 'sub/notes.txt'), 'first draft\n')
  await writeFile(join(src, 'debug.log'), 'noise')
  await mkdir(join(src, 'cache'))
  await writeFile(join(src, 'cache/blob'), 'cached')

  const added = await cliJson<SyncView>(['sync', src], node.dataDir)
  assert.equal(added.name, 'work')
  assert.equal(added.dir, src)
  await waitForVersion(node, 'work', 1)
  assert.deepEqual(await pathsIn(node, 'work'), ['.dvignore', 'sub', 'sub/notes.txt'], '.dvignore\'d files are not stored')

  const changedAt = Date.now()
  await writeFile(join(src, 'sub/notes.txt'), 'second draft, longer\n')
  const view = await waitForVersion(node, 'work', 2)
  const seconds = (Date.now() - changedAt) / 1000
  assert.ok(seconds < 15, `stored within seconds (${seconds} s)`)
  assert.equal(view.state, 'watching')
  assert.equal(view.pendingChanges, 0)
  assert.equal(view.lastError, null)

  const out = join(dir, 'restored')
  const get = await runCli(['get', 'work', '-o', out, '--data', node.dataDir])
  assert.equal(get.code, 0, get.stderr)
  assert.equal(await readFile(join(out, 'sub/notes.txt'), 'utf8'), 'second draft, longer\n')
  const old = await runCli(['get', 'work', '--version', '1', '-o', join(dir, 'old'), '--data', node.dataDir])
  assert.equal(old.code, 0, old.stderr)
  assert.equal(await readFile(join(dir, 'old/sub/notes.txt'), 'utf8'), 'first draft\n')

  const status = await cliJson<{ sync: SyncView[] }>(['status'], node.dataDir)
  assert.deepEqual(status.sync.map(s => [s.name, s.state, s.lastVersion]), [['work', 'watching', 2]])
  const text = await runCli(['status', '--data', node.dataDir])
  assert.match(text.stdout, /^sync\n\s+NAME\s+STATE.*\n\s+work\s+watching\s+\S+ \S+\s+2\s+0\s+/m)

  await mkdir(join(dir, 'other'))
  const again = await runCli(['sync', join(dir, 'other'), '--name', 'work', '--data', node.dataDir])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /^error: "work" is already synced from .*work; one folder per name.*\(ALREADY_SYNCED\)$/m)
  const usage = await runCli(['sync', '--data', node.dataDir])
  assert.equal(usage.code, 2)
})

test('a burst of 50 writes gives one or two versions, not 50', async (t) => {
  const dir = await tempDir(t)
  const node = await sharedNode()
  const src = join(dir, 'burst')
  await mkdir(src)
  await writeFile(join(src, 'seed.txt'), 'seed')
  await cliJson(['sync', src], node.dataDir)
  await waitForVersion(node, 'burst', 1)
  for (let i = 0; i < 50; i++) await writeFile(join(src, `f${String(i).padStart(2, '0')}.txt`), `file ${i}\n`.repeat(i + 1))
  // Polled through the API (`ls burst --json` is GET /api/files/burst/tree), then asserted by `ls`.
  await waitFor('all 50 files in the newest version', async () => (await apiJson<unknown[]>(node.dataDir, '/api/files/burst/tree')).length === 51, { timeoutMs: 30_000, intervalMs: 200 })
  assert.equal((await pathsIn(node, 'burst')).length, 51)
  const versions = await cliJson<unknown[]>(['versions', 'burst'], node.dataDir)
  assert.ok(versions.length >= 2 && versions.length <= 3, `1 or 2 versions for the burst, not 50 (${versions.length - 1})`)
})

test('a node stopped while its folder changes catches up at its next start; sync --stop stops the versions', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  let node = await startCliNode(data, ['--replicas', '1'])
  t.after(async () => { await node.kill() })
  const src = join(dir, 'album')
  await mkdir(src)
  await writeFile(join(src, 'a.txt'), 'before the restart')
  await cliJson(['sync', src], data)
  await waitForVersion(node, 'album', 1)
  assert.equal(await node.stop(), 0)

  await writeFile(join(src, 'a.txt'), 'changed while the node was down')
  await writeFile(join(src, 'b.txt'), 'added while the node was down')
  node = await startCliNode(data, ['--replicas', '1'])
  await waitForVersion(node, 'album', 2)
  assert.deepEqual(await pathsIn(node, 'album'), ['a.txt', 'b.txt'])
  const out = join(dir, 'restored')
  assert.equal((await runCli(['get', 'album', '-o', out, '--data', data])).code, 0)
  assert.equal(await readFile(join(out, 'a.txt'), 'utf8'), 'changed while the node was down')

  const stopped = await cliJson<SyncView>(['sync', '--stop', 'album'], data)
  assert.equal(stopped.state, 'stopped')
  // A second sync of the same folder under another name shows when a change has been seen and stored.
  await cliJson(['sync', src, '--name', 'witness'], data)
  await waitForVersion(node, 'witness', 1)
  await writeFile(join(src, 'c.txt'), 'after --stop')
  await waitForVersion(node, 'witness', 2)
  assert.equal((await cliJson<unknown[]>(['versions', 'album'], data)).length, 2, 'no version after --stop')
  const list = await cliJson<SyncView[]>(['sync', '--list'], data)
  assert.deepEqual(list.map(s => [s.name, s.state]), [['album', 'stopped'], ['witness', 'watching']])

  // Stopped stays stopped across a restart.
  assert.equal(await node.stop(), 0)
  node = await startCliNode(data, ['--replicas', '1'])
  assert.equal((await syncOf(node, 'album'))?.state, 'stopped')
})
