// A put short of its copy target says why: holders that refused (by their answer: storage limit,
// disk full, busy…) are told apart from peers that are simply missing, in the warning and in
// `--json` (`shortfall.reasons`). Real node processes; the holders refuse for real.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, statfs, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectedPeers, hostPort, joinCliNode, runCli, startCliNode, tempDir, waitFor, type CliNode } from '../helpers/cli.ts'

/** A node start takes seconds on a loaded machine (30 s was not enough at load 30 on 2 cores). */
const READY_MS = 120_000


/** A node of `first`'s network with extra `start` flags, its data directory made by `init --join`. */
async function holder (dataDir: string, first: CliNode, args: string[]): Promise<CliNode> {
  const init = await runCli(['init', '--data', dataDir, '--join', join(first.dataDir, 'network.key')])
  assert.equal(init.code, 0, init.stderr)
  return await startCliNode(dataDir, ['--peer', hostPort(first.p2p), ...args], READY_MS)
}

/**
 * The owner of every test, started once (a node process costs ~2 CPU-seconds): alone for the first
 * test, with two refusing holders for the second, which stops them, and with the full-disk holder
 * of the third. Each test's put counts only the peers connected then.
 */
let owner: CliNode | undefined
const ownerRoot = await mkdtemp(join(tmpdir(), 'dv-shortfall-owner-'))
before(async () => { owner = await startCliNode(join(ownerRoot, 'a'), [], READY_MS) })
after(async () => {
  await owner?.kill()
  await rm(ownerRoot, { recursive: true, force: true })
})

test('with no peer at all the warning still says "not enough peers", and --json says NO_PEERS', async () => {
  const a = owner!
  const put = await runCli(['put', '-', '--name', 'alone.txt', '--data', a.dataDir, '--json'], { input: 'hello' })
  assert.equal(put.code, 0, put.stderr)
  assert.deepEqual(JSON.parse(put.stdout).shortfall, { reasons: { NO_PEERS: 2 } })
  assert.equal(put.stderr, 'warning: alone.txt is under-replicated: 1 of 3 copies (not enough peers); the missing copies are made as soon as peers appear\n')
})

test('holders over their --max-storage are reported as refusals, not as missing peers', async (t) => {
  const dir = await tempDir(t)
  const a = owner!
  // One holder made by `init --join`, the other by `start` on a directory with the network key.
  const holders = await Promise.all([holder(join(dir, 'b'), a, ['--max-storage', '1000']), joinCliNode(join(dir, 'c'), a, ['--max-storage', '1000'])])
  t.after(async () => {
    await Promise.all(holders.map(async h => await h.kill()))
    await waitFor('a to see no peer connected', async () => await connectedPeers(a.dataDir) === 0, { timeoutMs: 30_000, intervalMs: 100 })
  })
  await waitFor('a to see both holders', async () => await connectedPeers(a.dataDir) === 2, { timeoutMs: 30_000, intervalMs: 100 })

  const file = join(dir, 'x.bin')
  await writeFile(file, randomBytes(200_000))
  const put = await runCli(['put', file, '--data', a.dataDir])
  assert.equal(put.code, 0, put.stderr)
  assert.equal(put.stderr, 'warning: x.bin is under-replicated: 1 of 3 copies (2 holders refused: storage limit reached); the missing copies are made as soon as peers can take them\n')

  const json = await runCli(['put', file, '--name', 'y.bin', '--data', a.dataDir, '--json'])
  assert.equal(json.code, 0, json.stderr)
  const result = JSON.parse(json.stdout) as { replicas: number, underReplicated: boolean, shortfall: { reasons: Record<string, number> } }
  assert.equal(result.replicas, 1)
  assert.equal(result.underReplicated, true)
  assert.deepEqual(result.shortfall, { reasons: { STORAGE_FULL: 2 } })
})

const canMount = process.getuid?.() === 0

test('a holder whose disk is full is reported as "disk full", next to the copy no peer was there for', { skip: canMount ? false : 'needs root to mount a tmpfs' }, async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'dv-shortfall-'))
  const mount = join(root, 'b')
  const nodes: CliNode[] = []
  let mounted = false
  t.after(async () => {
    await Promise.all(nodes.map(async n => await n.kill()))
    if (mounted) try { execFileSync('umount', ['-l', mount], { stdio: 'ignore' }) } catch {}
    await rm(root, { recursive: true, force: true })
  })
  await mkdir(mount)
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mount], { stdio: 'ignore' })
    mounted = true
  } catch {
    t.skip('mounting a tmpfs failed')
    return
  }
  const a = owner!
  // b caps nothing itself (1 TB), so it runs out of disk rather than refusing over its limit.
  const b = await joinCliNode(join(mount, 'data'), a, ['--max-storage', '1TB'])
  nodes.push(b)
  await waitFor('a to see b', async () => await connectedPeers(a.dataDir) === 1, { timeoutMs: 30_000, intervalMs: 100 })
  const free = await statfs(mount)
  // b writes to the same disk meanwhile (its catalog, its logs): if it took some of the room
  // since statfs, the filler fills what is left, which is as full as the test needs.
  await writeFile(join(mount, 'filler'), Buffer.alloc(Math.max(0, free.bavail * free.bsize - 8192))).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOSPC') throw err
  })

  const file = join(root, 'x.bin')
  await writeFile(file, randomBytes(300_000))
  const put = await runCli(['put', file, '--data', a.dataDir, '--json'])
  assert.equal(put.code, 0, put.stderr)
  assert.deepEqual(JSON.parse(put.stdout).shortfall, { reasons: { DISK_FULL: 1, NO_PEERS: 1 } })
  assert.equal(put.stderr, 'warning: x.bin is under-replicated: 1 of 3 copies (1 holder refused: disk full; not enough peers); the missing copies are made as soon as peers can take them\n')
})
