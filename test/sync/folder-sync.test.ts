// Folder sync inside one process (fast debounce times): .dvignore leaves entries out of a folder's
// put and makes no version; a folder that disappears, holds something that cannot be stored, or
// whose store fails is an error state that keeps the last version and resumes by itself; a name
// whose newest version another node's sync stored is refused unless taken over.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { createNode, type VaultNode } from '../../src/index.ts'
import { VaultError } from '../../src/errors.ts'
import type { SyncView } from '../../src/sync/index.ts'
import { treeDiffers } from '../../src/sync/tree-diff.ts'
import { loadTreeIgnore } from '../../src/files/index.ts'
import { tempDir } from '../helpers/fs.ts'
import { waitFor } from '../helpers/cli.ts'
import { startCluster, replaceDisk, waitForMesh } from '../helpers/cluster.ts'

const FAST_SYNC = { quietMs: 100, maxDelayMs: 1_000, retryMs: 300 }

async function syncNode (t: Parameters<typeof tempDir>[0]): Promise<{ node: VaultNode, dir: string }> {
  const dir = await tempDir(t)
  const node = await createNode({ dataDir: join(dir, 'data'), listen: '127.0.0.1:0', api: '127.0.0.1:0', replicas: 1 }, { log: pino({ level: 'silent' }), syncTiming: FAST_SYNC })
  t.after(async () => { await node.stop() })
  return { node, dir }
}

const viewOf = (node: VaultNode, name: string): SyncView | undefined => node.status().sync.find(s => s.name === name)

async function entriesOf (node: VaultNode, ref: string): Promise<string[]> {
  const paths: string[] = []
  for await (const e of node.vault.treeEntries(await node.vault.open(ref))) paths.push(e.path)
  return paths
}

test('.dvignore: a folder put leaves out what it matches (folder patterns only folders), and stores the .dvignore itself', async (t) => {
  const { node, dir } = await syncNode(t)
  const src = join(dir, 'src')
  await mkdir(join(src, 'build'), { recursive: true })
  await mkdir(join(src, 'sub'))
  await writeFile(join(src, '.dvignore'), '*.tmp\nbuild/\n!keep.tmp\n')
  await writeFile(join(src, 'a.txt'), 'a')
  await writeFile(join(src, 'x.tmp'), 'scratch')
  await writeFile(join(src, 'keep.tmp'), 'kept by !')
  await writeFile(join(src, 'build/out.bin'), 'built')
  await writeFile(join(src, 'sub/build'), 'a file named build is not a folder')
  const put = await node.vault.putTree(src, { name: 'src' })
  assert.equal(put.files, 4)
  assert.deepEqual(await entriesOf(node, 'src'), ['', '.dvignore', 'a.txt', 'keep.tmp', 'sub', 'sub/build'])
})

test('a sync stores the folder, a change gives a new version, and a change to ignored files only gives none', async (t) => {
  const { node, dir } = await syncNode(t)
  const src = join(dir, 'notes')
  await mkdir(src)
  await writeFile(join(src, '.dvignore'), '*.swp\n')
  await writeFile(join(src, 'a.txt'), 'one')
  await node.syncs!.add({ dir: src, name: 'notes' })
  await waitFor('the first version', () => viewOf(node, 'notes')?.lastVersion === 1)
  await writeFile(join(src, 'a.txt'), 'two!')
  await waitFor('a second version', () => viewOf(node, 'notes')?.lastVersion === 2)
  // An editor's swap file comes and goes: changes seen, nothing to store.
  await writeFile(join(src, '.a.txt.swp'), 'swap')
  await rm(join(src, '.a.txt.swp'))
  await writeFile(join(src, 'b.swp'), 'swap')
  // The folder's mtime changed, its entries did not: no difference, so no version.
  assert.equal(await treeDiffers(node.vault, 'notes', src, await loadTreeIgnore(src)), false)
  await writeFile(join(src, 'd.txt'), 'not ignored')
  assert.equal(await treeDiffers(node.vault, 'notes', src, await loadTreeIgnore(src)), true)
  await rm(join(src, 'd.txt'))
  // A later real change is stored as version 3: the swap files alone made no version.
  await writeFile(join(src, 'c.txt'), 'real')
  await waitFor('a version with c.txt', async () => (await entriesOf(node, 'notes')).includes('c.txt'))
  assert.equal(node.vault.versions('notes').length, 3)
  assert.deepEqual(await entriesOf(node, 'notes'), ['', '.dvignore', 'a.txt', 'c.txt'])
})

test('a synced folder that disappears is an error state, the node runs on, the last version stays, and the sync resumes when it is back', async (t) => {
  const { node, dir } = await syncNode(t)
  const src = join(dir, 'docs')
  await mkdir(src)
  await writeFile(join(src, 'a.txt'), 'first')
  await node.syncs!.add({ dir: src, name: 'docs' })
  await waitFor('the first version', () => viewOf(node, 'docs')?.lastVersion === 1)
  await rename(src, join(dir, 'away'))
  const failed = await waitFor('the error state', () => { const v = viewOf(node, 'docs'); return v?.state === 'error' ? v : undefined })
  assert.match(failed.lastError ?? '', /no folder at .*docs \(NOT_FOUND\)/)
  assert.equal(node.vault.versions('docs').length, 1, 'the last good version stays')
  const restored = join(dir, 'restored')
  await node.vault.restoreTree(await node.vault.open('docs'), restored)
  assert.equal(await readFile(join(restored, 'a.txt'), 'utf8'), 'first')
  await rename(join(dir, 'away'), src)
  await writeFile(join(src, 'a.txt'), 'second')
  await waitFor('a new version once the folder is back', () => viewOf(node, 'docs')?.lastVersion === 2)
  assert.equal(viewOf(node, 'docs')?.state, 'watching')
  assert.equal(viewOf(node, 'docs')?.lastError, null)
})

test('a folder that gets something it cannot store (a FIFO), or whose store fails midway, is an error until it is fixed; nothing is lost', async (t) => {
  const { node, dir } = await syncNode(t)
  const src = join(dir, 'box')
  await mkdir(src)
  await writeFile(join(src, 'a.txt'), 'first')
  await node.syncs!.add({ dir: src, name: 'box' })
  await waitFor('the first version', () => viewOf(node, 'box')?.lastVersion === 1)
  execFileSync('mkfifo', [join(src, 'pipe')])
  const failed = await waitFor('the error state', () => { const v = viewOf(node, 'box'); return v?.state === 'error' ? v : undefined })
  assert.match(failed.lastError ?? '', /FIFO.*\(BAD_INPUT\)/s)
  assert.ok(failed.pendingChanges > 0, 'the change is still pending')
  await rm(join(src, 'pipe'))
  await writeFile(join(src, 'b.txt'), 'b')
  await waitFor('a version once the FIFO is gone', () => viewOf(node, 'box')?.lastVersion === 2)

  // Fault injected: the next store fails as a file vanishing mid-store does, once.
  const putTree = node.vault.putTree.bind(node.vault)
  let faults = 0
  node.vault.putTree = async (root, options) => {
    if (faults++ === 0) throw new VaultError('BAD_INPUT', `the folder changed while it was stored: cannot read ${join(root, 'c.txt')}: it vanished while the folder was read`)
    return await putTree(root, options)
  }
  await writeFile(join(src, 'c.txt'), 'c')
  await waitFor('the version after the failed store was retried', () => viewOf(node, 'box')?.lastVersion === 3)
  assert.equal(faults, 2)
  assert.deepEqual(await entriesOf(node, 'box'), ['', 'a.txt', 'b.txt', 'c.txt'])
})

test('a second sync of a name is refused; --stop stops it and it stays listed as stopped', async (t) => {
  const { node, dir } = await syncNode(t)
  await mkdir(join(dir, 'one'))
  await mkdir(join(dir, 'two'))
  await writeFile(join(dir, 'two', 'b.txt'), 'b')
  await node.syncs!.add({ dir: join(dir, 'one'), name: 'shared' })
  await assert.rejects(node.syncs!.add({ dir: join(dir, 'two'), name: 'shared' }), (err: unknown) => err instanceof VaultError && err.code === 'ALREADY_SYNCED')
  await waitFor('the first version', () => viewOf(node, 'shared')?.lastVersion === 1)
  const stopped = await node.syncs!.remove('shared')
  assert.equal(stopped.state, 'stopped')
  await writeFile(join(dir, 'one', 'late.txt'), 'late')
  // Now the name may be synced from the other folder.
  await node.syncs!.add({ dir: join(dir, 'two'), name: 'shared' })
  await waitFor('a version from the other folder', () => viewOf(node, 'shared')?.lastVersion === 2)
  assert.deepEqual(await entriesOf(node, 'shared'), ['', 'b.txt'], 'the late change in the stopped folder was never stored')
})

test('a node restored from the phrase refuses to sync a name another node\'s sync wrote, until --takeover', async (t) => {
  const cluster = await startCluster(t, 2, { replicas: 2 })
  const [a] = cluster.nodes
  const src = join(cluster.root, 'folder-a')
  await mkdir(src)
  await writeFile(join(src, 'a.txt'), 'written on machine A')
  await a.syncs!.add({ dir: src, name: 'docs' })
  await waitFor('A stored a version', () => a.status().sync[0]?.lastVersion === 1)
  await waitFor('its copies', () => a.vault.list()[0]?.replicas === 2)

  // The same identity on another machine: restored from the phrase, its files recovered.
  const b = await replaceDisk(cluster, a, 'machine-b')
  await waitForMesh([b, cluster.nodes[1]])
  await b.recover()
  assert.equal(b.vault.versions('docs').length, 1)
  const srcB = join(cluster.root, 'folder-b')
  await mkdir(srcB)
  await writeFile(join(srcB, 'b.txt'), 'written on machine B')
  await assert.rejects(b.syncs!.add({ dir: srcB, name: 'docs' }), (err: unknown) => err instanceof VaultError && err.code === 'OTHER_WRITER')
  assert.equal(b.status().sync.length, 0)
  assert.equal(b.vault.versions('docs').length, 1, 'nothing was merged in')

  await b.syncs!.add({ dir: srcB, name: 'docs', takeover: true })
  await waitFor('B\'s first version', () => b.status().sync[0]?.lastVersion === 2)
  assert.deepEqual(await entriesOf(b, 'docs'), ['', 'b.txt'])
})

test('a running sync that finds another writer\'s version newest stops storing rather than write over it', async (t) => {
  const { node, dir } = await syncNode(t)
  const src = join(dir, 'mine')
  await mkdir(src)
  await writeFile(join(src, 'a.txt'), 'mine')
  await node.syncs!.add({ dir: src, name: 'docs' })
  await waitFor('the first version', () => viewOf(node, 'docs')?.lastVersion === 1)
  // What a recover brings in when the same identity's other machine synced the name meanwhile.
  const theirs = join(dir, 'theirs')
  await mkdir(theirs)
  await writeFile(join(theirs, 'b.txt'), 'theirs')
  await node.vault.putTree(theirs, { name: 'docs', syncWriter: 'f'.repeat(32) })
  await writeFile(join(src, 'a.txt'), 'mine, changed')
  const failed = await waitFor('the error state', () => { const v = viewOf(node, 'docs'); return v?.state === 'error' ? v : undefined })
  assert.match(failed.lastError ?? '', /another node's sync.*\(OTHER_WRITER\)/)
  assert.equal(node.vault.versions('docs').length, 2)
  assert.deepEqual(await entriesOf(node, 'docs'), ['', 'b.txt'], 'their version stays the newest')
})
