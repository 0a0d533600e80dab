// Node processes on the DHT (issue 16) through the CLI: `start --dht --max-connections 4`, joined
// from one bootstrap address. A put lands its copies where the DHT says, a node that never saw the
// file reads it by capability, rm reaches the holders, and the owner's files come back by `recover`
// on a new disk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hostPort, joinCliNode, runCli, startCliNode, tempDir, waitFor, type CliNode } from '../helpers/cli.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
const DHT = ['--dht', '--max-connections', '4']

async function json (args: string[]): Promise<any> {
  const result = await runCli([...args, '--json'])
  assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

test('node processes on the DHT put, read by capability, rm and recover through it', { timeout: 900_000 }, async (t) => {
  const dir = await tempDir(t)
  const nodes: CliNode[] = []
  t.after(async () => { await Promise.all(nodes.map(async n => await n.kill())) })
  // `start` on a fresh directory makes the identity (its ready line has the phrase) and keeps the
  // network key found there (joinCliNode): no `init` process per node. `init --recover --join` is
  // run below.
  const first = await startCliNode(join(dir, 'n0'), ['--dht'], 120_000)
  nodes.push(first)
  // One after another, as before: each joins a network whose DHT already holds the ones before it.
  for (let i = 1; i < 5; i++) nodes.push(await joinCliNode(join(dir, `n${i}`), first, DHT))
  const [, owner, , reader, bystander] = nodes
  const bytes = randomBytes(2 * 1024 * 1024 + 3)
  await writeFile(join(dir, 'f.bin'), bytes)
  // The owner's first lookups may find few DHT servers while the network forms: wait for 3 copies.
  await waitFor('a put with 3 copies', async () => {
    const put = await runCli(['put', join(dir, 'f.bin'), '--data', owner.dataDir, '--json'])
    return put.code === 0 && JSON.parse(put.stdout).replicas === 3
  }, { timeoutMs: 120_000, intervalMs: 1_000 })
  const health = await json(['health', 'f.bin', '--data', owner.dataDir])
  assert.equal(health.ok, true)
  const cap = (await runCli(['share', 'f.bin', '--data', owner.dataDir])).stdout.trim()
  const got = await runCli(['get', cap, '-o', '-', '--data', reader.dataDir])
  assert.equal(got.code, 0, got.stderr)
  assert.equal(sha(got.stdoutBytes), sha(bytes))

  // status and peers say how the node and each peer are reached: on 127.0.0.1 all public, all direct.
  await waitFor('the reader to be found reachable, its peers identified', async () => {
    const status = await json(['status', '--data', reader.dataDir])
    const connected = status.peers.filter((p: any) => p.connected)
    return status.reachability === 'public' && connected.length > 0 && connected.every((p: any) => p.reachability === 'public' && p.path === 'direct')
  }, { timeoutMs: 60_000, intervalMs: 1_000 })
  assert.match((await runCli(['peers', '--data', reader.dataDir])).stdout, /connected \(direct\)\s+public\s/)

  // The owner's disk is lost: same phrase, a new data dir, `recover` finds the holders through the DHT.
  await owner.stop()
  nodes.splice(nodes.indexOf(owner), 1)
  await rm(owner.dataDir, { recursive: true, force: true })
  const againDir = join(dir, 'again')
  const restored = await runCli(['init', '--recover', '--data', againDir, '--join', join(first.dataDir, 'network.key'), '--json'], { input: owner.phrase })
  assert.equal(JSON.parse(restored.stdout).nodeId, owner.nodeId)
  const again = await startCliNode(againDir, [...DHT, '--peer', hostPort(first.p2p)], 60_000)
  nodes.push(again)
  let recovered: any
  await waitFor('recover to bring the file back', async () => {
    const result = await runCli(['recover', '--data', againDir, '--json'])
    if (result.code !== 0) return false
    recovered = JSON.parse(result.stdout)
    return recovered.files === 1
  }, { timeoutMs: 120_000, intervalMs: 1_000 })
  assert.equal(recovered.failed, 0)
  const back = await runCli(['get', 'f.bin', '-o', '-', '--data', againDir])
  assert.equal(sha(back.stdoutBytes), sha(bytes))

  // rm reaches the holders: the capability no longer opens anywhere.
  const removed = await runCli(['rm', 'f.bin', '--data', againDir])
  assert.equal(removed.code, 0, removed.stderr)
  const gone = await runCli(['get', cap, '-o', join(dir, 'x'), '--data', bystander.dataDir])
  assert.equal(gone.code, 1)
  assert.match(gone.stderr, /^error: .+ \([A-Z_]+\)$/m)
})
