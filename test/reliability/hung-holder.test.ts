// A holder that hangs (SIGSTOP: connected, answering nothing) during a put, a get and an rm: none
// of them stalls, and once it resumes (SIGCONT) the rm still reaches it, so after the owner loses
// its disk `recover` brings back the file that was kept and not the one that was removed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { apiJson, FAST_TIMERS, runCli, startCliNode, joinCliNode, hostPort, waitFor, tempDir, waitForCliPeers, type CliNode } from '../helpers/cli.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('a hung holder stalls no put, get or rm, and a file removed while it hung does not come back after recover', { timeout: 300_000 }, async (t) => {
  const root = await tempDir(t)
  const nodes: CliNode[] = []
  t.after(async () => {
    for (const n of nodes) if (n.proc.exitCode === null) n.proc.kill('SIGCONT')
    await Promise.all(nodes.map(async n => await n.kill()))
  })
  // The nodes give a hung peer 10 s, not the product's 20 s, per block request (FAST_TIMERS): what
  // is tested is that nothing waits for it longer than that deadline, whatever its length.
  const a = await startCliNode(join(root, 'a'), [], 90_000, undefined, FAST_TIMERS)
  const phrase = a.phrase!
  nodes.push(a)
  const [b, c] = await Promise.all(['b', 'c'].map(async n => await joinCliNode(join(root, n), a, [], FAST_TIMERS)))
  nodes.push(b, c)
  await waitForConnected(a, 2)

  const keep = randomBytes(2 * 1024 * 1024)
  const doomed = randomBytes(2 * 1024 * 1024)
  for (const [name, bytes] of [['keep.bin', keep], ['doomed.bin', doomed]] as const) {
    await writeFile(join(root, name), bytes)
    const put = await runCli(['put', join(root, name), '--data', a.dataDir, '--json'])
    assert.equal(put.code, 0, put.stderr)
    assert.equal(JSON.parse(put.stdout).replicas, 3)
  }

  c.proc.kill('SIGSTOP')
  const started = Date.now()
  const during = randomBytes(1024 * 1024)
  await writeFile(join(root, 'during.bin'), during)
  const put = await runCli(['put', join(root, 'during.bin'), '--data', a.dataDir, '--json'], { timeoutMs: 90_000 })
  assert.equal(put.code, 0, put.stderr)
  const got = await runCli(['get', 'keep.bin', '-o', '-', '--data', a.dataDir], { timeoutMs: 90_000 })
  assert.equal(sha(got.stdoutBytes), sha(keep))
  t.diagnostic(`put + get with a hung holder took ${Date.now() - started} ms`)
  c.proc.kill('SIGCONT')
  await waitForConnected(a, 2)

  // The rm: c hangs just for its length, too briefly to be dropped as gone.
  c.proc.kill('SIGSTOP')
  const rmStarted = Date.now()
  const removed = await runCli(['rm', 'doomed.bin', '--data', a.dataDir], { timeoutMs: 90_000 })
  assert.equal(removed.code, 0, removed.stderr)
  c.proc.kill('SIGCONT')
  t.diagnostic(`rm with a hung holder took ${Date.now() - rmStarted} ms`)
  assert.ok(Date.now() - started < 90_000)
  // The rm reaches c after it resumes, without c ever disconnecting.
  await waitFor('c to drop the removed file\'s blobs', async () => {
    const status = await apiJson(c.dataDir, '/api/status')
    const held = status.storage[a.nodeId] ?? 0
    return held > 0 && held < keep.length + during.length + 64 * 1024
  }, { timeoutMs: 60_000, intervalMs: 100 })

  // a loses its disk.
  await a.stop()
  await writeFile(join(root, 'network.key'), await readFile(join(b.dataDir, 'network.key')))
  await rm(a.dataDir, { recursive: true, force: true })
  const restored = await runCli(['init', '--recover', '--data', join(root, 'a2'), '--join', join(root, 'network.key'), '--json'], { input: phrase })
  assert.equal(restored.code, 0, restored.stderr)
  const a2 = await startCliNode(join(root, 'a2'), ['--peer', hostPort(b.p2p)], 90_000, undefined, FAST_TIMERS)
  nodes.push(a2)
  await waitForConnected(a2, 2)
  const recover = await runCli(['recover', '--data', a2.dataDir, '--json'], { timeoutMs: 120_000 })
  assert.equal(recover.code, 0, recover.stderr)
  const names = (JSON.parse((await runCli(['ls', '--data', a2.dataDir, '--json'])).stdout) as Array<{ name: string }>).map(f => f.name).sort()
  assert.deepEqual(names, ['during.bin', 'keep.bin'])
  const back = await runCli(['get', 'keep.bin', '-o', '-', '--data', a2.dataDir])
  assert.equal(sha(back.stdoutBytes), sha(keep))
})

async function waitForConnected (node: CliNode, count: number): Promise<void> {
  await waitForCliPeers([node], count)
}
