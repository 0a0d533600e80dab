// Real full disks: a node's data dir on a small tmpfs (needs root to mount; skipped otherwise).
// A holder whose disk fills keeps running and the owner's puts still succeed (placed elsewhere or
// reported under-replicated); an owner whose disk fills (blobs, then SQLite's own file) fails the
// put with DISK_FULL, keeps every earlier file, serves again once room is made, and restarts with
// nothing half-done.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rm, writeFile, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, startCliNode, joinCliNode, hostPort, waitForCliPeers, type CliNode } from '../helpers/cli.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function mountTmpfs (dir: string, mib: number): Promise<boolean> {
  await mkdir(dir, { recursive: true })
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

function unmount (dir: string): void {
  try { execFileSync('umount', [dir], { stdio: 'ignore' }) } catch { try { execFileSync('umount', ['-l', dir], { stdio: 'ignore' }) } catch {} }
}

async function freeBytes (dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

/** Fills `dir`'s file system until only about `leave` bytes are free. */
async function fill (dir: string, leave: number): Promise<string> {
  const path = join(dir, 'filler')
  await writeFile(path, Buffer.alloc(Math.max(0, await freeBytes(dir) - leave)))
  return path
}

const canMount = process.getuid?.() === 0
const MiB = 1024 * 1024

test('full disks: a full holder costs the owner nothing; a full owner refuses with DISK_FULL, keeps its files and recovers', { skip: canMount ? false : 'needs root to mount a tmpfs', timeout: 300_000 }, async (t) => {
  // One clean-up, in order: the nodes, then the mounts, then the folder (rm under a live mount hangs).
  const root = await mkdtemp(join(tmpdir(), 'dv-full-'))
  const nodes: CliNode[] = []
  const mounts: string[] = []
  t.after(async () => {
    await Promise.all(nodes.map(async n => await n.kill()))
    for (const m of mounts) unmount(m)
    await rm(root, { recursive: true, force: true })
  })
  const small = async (name: string, mib: number): Promise<string> => {
    const dir = join(root, name)
    if (!await mountTmpfs(dir, mib)) { t.skip('mounting a tmpfs failed'); return '' }
    mounts.push(dir)
    return dir
  }
  // Sizes in MiB, half the first version's (same ratios: b holds less than the 4 puts, a holds
  // them all plus big.bin): filling 6 MiB proves what filling 12 did, for half the bytes.
  const aDir = await small('a', 20)
  const bDir = await small('b', 6)
  if (aDir === '' || bDir === '') return
  const a = await startCliNode(join(aDir, 'data'))
  nodes.push(a)
  // b caps nothing itself (1 TB), so it really runs out of disk rather than refusing first. It
  // joins as joinCliNode does (a's network.key, then start --peer), with its flag from the start.
  await mkdir(join(bDir, 'data'), { recursive: true, mode: 0o700 })
  await copyFile(join(a.dataDir, 'network.key'), join(bDir, 'data', 'network.key'))
  const b2 = await startCliNode(join(bDir, 'data'), ['--peer', hostPort(a.p2p), '--max-storage', '1TB'])
  nodes.push(b2)
  const c = await joinCliNode(join(root, 'c'), a)
  nodes.push(c)
  await waitForCliPeers([a], 2)

  // The holder b fills up: every put still succeeds; b stays up and answers.
  const kept: Array<[string, Buffer]> = []
  // 4 × 2 MiB: more than b's 6 MiB disk holds, well within a's 20 MiB (with room for big.bin later).
  for (let i = 0; i < 4; i++) {
    const bytes = randomBytes(2 * MiB)
    await writeFile(join(root, `h${i}.bin`), bytes)
    const put = await runCli(['put', join(root, `h${i}.bin`), '--data', a.dataDir, '--json'], { timeoutMs: 120_000 })
    if (put.code !== 0) {
      // Only the owner's own disk may refuse (a's tmpfs is bigger than b's, so not yet).
      assert.match(put.stderr, /\(DISK_FULL\)/)
      break
    }
    kept.push([`h${i}.bin`, bytes])
    assert.ok(JSON.parse(put.stdout).replicas >= 2)
  }
  assert.ok(kept.length >= 3, `only ${kept.length} puts before the owner filled up`)
  const bStatus = await runCli(['status', '--data', b2.dataDir, '--json'])
  assert.equal(bStatus.code, 0, 'the full holder still answers')
  assert.ok(await freeBytes(bDir) < 2 * MiB, 'b really filled up')

  // The owner a fills up: the put fails DISK_FULL, one line, no stack.
  const filler = await fill(aDir, MiB)
  const big = randomBytes(4 * MiB)
  await writeFile(join(root, 'big.bin'), big)
  const refused = await runCli(['put', join(root, 'big.bin'), '--data', a.dataDir, '--json'], { timeoutMs: 120_000 })
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /^error: .*\(DISK_FULL\)\n$/)
  // Not one byte free: SQLite's own file cannot grow either.
  await writeFile(join(aDir, 'filler2'), Buffer.alloc(await freeBytes(aDir))).catch(() => {})
  const tiny = await runCli(['put', '-', '--name', 'tiny.txt', '--data', a.dataDir], { input: 'x'.repeat(100_000), timeoutMs: 60_000 })
  assert.equal(tiny.code, 1)
  assert.match(tiny.stderr, /\((DISK_FULL|STORAGE_FULL)\)/)
  for (const [name, bytes] of kept) {
    const got = await runCli(['get', name, '-o', '-', '--data', a.dataDir])
    assert.equal(sha(got.stdoutBytes), sha(bytes), `${name} still reads back on a full disk`)
  }

  // Room again: the same put works, and a restart finds nothing half-done.
  await rm(filler, { force: true })
  await rm(join(aDir, 'filler2'), { force: true })
  const again = await runCli(['put', join(root, 'big.bin'), '--data', a.dataDir, '--json'], { timeoutMs: 120_000 })
  assert.equal(again.code, 0, again.stderr)
  await a.stop()
  nodes.splice(nodes.indexOf(a), 1)
  const a2 = await startCliNode(a.dataDir)
  nodes.push(a2)
  const names = (JSON.parse((await runCli(['ls', '--data', a2.dataDir, '--json'])).stdout) as Array<{ name: string }>).map(f => f.name).sort()
  assert.deepEqual(names, [...kept.map(([n]) => n), 'big.bin'].sort())
  const back = await runCli(['get', 'big.bin', '-o', '-', '--data', a2.dataDir])
  assert.equal(sha(back.stdoutBytes), sha(big))
})
