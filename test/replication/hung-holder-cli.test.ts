// The repro with real node processes: an rm while a holder is hung (SIGSTOP), a put cut
// short by SIGKILL of its owner, then the owner's disk dies. The hung holder gets the deletion once
// it resumes, and `recover` restores exactly the files that existed, then clears the leftovers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { spawn } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { CLI, connectedPeers, FAST_TIMERS, hostPort, joinCliNode, runCli, startCliNode, tempDir, waitFor, type CliNode } from '../helpers/cli.ts'
import { listFiles } from '../helpers/fs.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const blobsFor = async (holder: CliNode, owner: string): Promise<string[]> => (await listFiles(join(holder.dataDir, 'storage', owner))).map(f => basename(f))

test('rm while a holder is SIGSTOPped, a put SIGKILLed midway, then disk loss: recover lists exactly what existed', { timeout: 240_000 }, async (t) => {
  const dir = await tempDir(t)
  const nodes: CliNode[] = []
  t.after(async () => {
    for (const n of nodes) n.proc.kill('SIGCONT')
    await Promise.all(nodes.map(async n => await n.kill()))
  })
  // FAST_TIMERS: a hung peer gets 10 s per block request, the repair pass (which retries the
  // deletion c missed) runs every 2 s: the product's 20 s and 30 s only lengthen the wait.
  const a = await startCliNode(join(dir, 'a'), [], 90_000, undefined, FAST_TIMERS)
  const phrase = a.phrase
  nodes.push(a)
  nodes.push(...await Promise.all(['b', 'c'].map(async name => await joinCliNode(join(dir, name), a, [], FAST_TIMERS))))
  const [, b, c] = nodes
  await waitFor('a to see b and c', async () => await connectedPeers(a.dataDir) === 2, { timeoutMs: 20_000, intervalMs: 100 })

  const bytesB = randomBytes(1024 * 1024)
  await writeFile(join(dir, 'A.bin'), randomBytes(1024 * 1024))
  await writeFile(join(dir, 'B.bin'), bytesB)
  for (const name of ['A.bin', 'B.bin']) assert.equal((await runCli(['put', join(dir, name), '--data', a.dataDir])).code, 0)

  // c hangs; the rm reaches b at once, and c once it resumes (it never disconnected).
  c.proc.kill('SIGSTOP')
  const rmStarted = Date.now()
  const removed = await runCli(['rm', 'A.bin', '--data', a.dataDir], { timeoutMs: 120_000 })
  assert.equal(removed.code, 0, removed.stderr)
  const rmMs = Date.now() - rmStarted
  c.proc.kill('SIGCONT')
  const resumed = Date.now()
  await waitFor('c to hold the same blobs of a as b (A dropped, the remove record there)', async () =>
    JSON.stringify(await blobsFor(c, a.nodeId)) === JSON.stringify(await blobsFor(b, a.nodeId)), { timeoutMs: 90_000, intervalMs: 500 })
  t.diagnostic(`rm with a hung holder took ${rmMs} ms; the holder had the deletion ${Date.now() - resumed} ms after SIGCONT`)

  // A put of C: a is SIGKILLed once some of its chunks reached the holders.
  const before = (await blobsFor(b, a.nodeId)).length
  const put = spawn(process.execPath, [CLI, 'put', '-', '--name', 'C.bin', '--data', a.dataDir], { stdio: ['pipe', 'ignore', 'ignore'] })
  put.stdin.on('error', () => {})
  put.stdin.write(randomBytes(24 * 1024 * 1024))
  await waitFor('some chunks of C on b', async () => (await blobsFor(b, a.nodeId)).length >= before + 3, { timeoutMs: 30_000, intervalMs: 50 })
  await a.kill()
  put.kill('SIGKILL')

  // a's disk is gone.
  await rm(a.dataDir, { recursive: true, force: true })
  const restored = await runCli(['init', '--recover', '--data', join(dir, 'a2'), '--join', join(b.dataDir, 'network.key'), '--json'], { input: phrase })
  assert.equal(JSON.parse(restored.stdout).nodeId, a.nodeId)
  const a2 = await startCliNode(join(dir, 'a2'), ['--peer', hostPort(b.p2p)], 90_000, undefined, FAST_TIMERS)
  nodes.push(a2)
  await waitFor('a2 to see b and c', async () => await connectedPeers(a2.dataDir) === 2, { timeoutMs: 20_000, intervalMs: 100 })
  const recover = await runCli(['recover', '--data', a2.dataDir, '--json'])
  assert.equal(recover.code, 0, recover.stderr)
  const listed = JSON.parse((await runCli(['ls', '--data', a2.dataDir, '--json'])).stdout)
  assert.deepEqual(listed.map((f: { name: string }) => f.name), ['B.bin'], 'nothing deleted came back, nothing half-put appeared')
  const back = await runCli(['get', 'B.bin', '-o', '-', '--data', a2.dataDir])
  assert.equal(sha(back.stdoutBytes), sha(bytesB))
  // The killed put's chunks and A's leftovers are collected from the holders too.
  const own = await blobsFor(a2, a.nodeId)
  await waitFor('b and c to keep exactly the blobs a2 keeps', async () =>
    JSON.stringify(await blobsFor(b, a.nodeId)) === JSON.stringify(own) && JSON.stringify(await blobsFor(c, a.nodeId)) === JSON.stringify(own), { timeoutMs: 30_000, intervalMs: 200 })
})
