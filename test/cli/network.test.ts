// Several nodes as separate OS processes through the CLI: joining a network from one bootstrap
// address, replicated puts, and a file read back from holders after its owner was SIGKILLed.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiJson, hostPort, joinCliNode, runCli, startCliNode, waitFor, waitForCliPeers, type CliNode } from '../helpers/cli.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

// The node processes of the file: the first test's network (a2 its owner after the disk loss, b, c)
// is the second test's, with one node more (a node process costs ~2 CPU-seconds to start).
// Their data directories are in the file's folder, removed after them.
const nodes: CliNode[] = []
const root = await mkdtemp(join(tmpdir(), 'dv-network-'))
after(async () => {
  await Promise.all(nodes.map(async n => await n.kill()))
  await rm(root, { recursive: true, force: true })
})
let network: { owner: CliNode, holders: CliNode[] } | undefined

test('three node processes join from one bootstrap address, replicate, and survive the owner\'s SIGKILL', async () => {
  const dir = join(root, 'first')
  await mkdir(dir)
  // `start` on a fresh directory makes the identity; its ready line carries the phrase.
  const a = await startCliNode(join(dir, 'a'))
  const phrase = a.phrase
  nodes.push(a)
  for (const name of ['b', 'c']) nodes.push(await joinCliNode(join(dir, name), a))
  const [, b, c] = nodes
  await waitForCliPeers(nodes, 2, 20_000)
  for (const n of nodes) {
    const peers = JSON.parse((await runCli(['peers', '--data', n.dataDir, '--json'])).stdout)
    assert.equal(peers.filter((p: { connected: boolean }) => p.connected).length, 2, 'every node lists the two others in peers')
  }
  const status = JSON.parse((await runCli(['status', '--data', b.dataDir, '--json'])).stdout)
  assert.deepEqual(status.peers.map((p: { nodeId: string }) => p.nodeId).sort(), [a.nodeId, c.nodeId].sort())
  for (const p of status.peers) {
    assert.ok(Array.isArray(p.addresses) && p.addresses.length > 0)
    assert.ok(!Number.isNaN(Date.parse(p.since)))
  }

  const bytes = randomBytes(6 * 1024 * 1024)
  await writeFile(join(dir, 'f.bin'), bytes)
  const put = await runCli(['put', join(dir, 'f.bin'), '--data', a.dataDir, '--json'])
  assert.equal(put.code, 0, put.stderr)
  assert.equal(JSON.parse(put.stdout).replicas, 3)
  const bStatus = JSON.parse((await runCli(['status', '--data', b.dataDir, '--json'])).stdout)
  assert.ok(bStatus.storage[a.nodeId] > bytes.length, 'b holds a\'s chunks in a\'s folder')
  const health = JSON.parse((await runCli(['health', 'f.bin', '--data', a.dataDir, '--json'])).stdout)
  assert.equal(health.ok, true)
  const cap = (await runCli(['share', 'f.bin', '--data', a.dataDir])).stdout.trim()

  await a.kill()
  const away = (peers: Array<{ nodeId: string, connected: boolean, latencyMs: number | null }>): boolean => peers.some(p => p.nodeId === a.nodeId && !p.connected && p.latencyMs === null)
  await waitFor('c to list a as a known peer that is away', async () => away(await apiJson(c.dataDir, '/api/peers')), { timeoutMs: 15_000, intervalMs: 100 })
  assert.ok(away(JSON.parse((await runCli(['peers', '--data', c.dataDir, '--json'])).stdout)), '`peers` lists a as away')
  const got = await runCli(['get', cap, '-o', '-', '--data', c.dataDir])
  assert.equal(got.code, 0, got.stderr)
  assert.equal(sha(got.stdoutBytes), sha(bytes))
  const noKey = await runCli(['get', JSON.parse(put.stdout).id, '--data', c.dataDir, '-o', join(dir, 'x')])
  assert.equal(noKey.code, 1)
  assert.match(noKey.stderr, /\(NOT_FOUND\)/)

  // a's disk is gone: the phrase, the network key from a peer, and `recover` bring every file back.
  await rm(join(dir, 'a'), { recursive: true, force: true })
  const restored = await runCli(['init', '--recover', '--data', join(dir, 'a2'), '--join', join(dir, 'b', 'network.key'), '--json'], { input: phrase })
  assert.equal(JSON.parse(restored.stdout).nodeId, a.nodeId)
  const a2 = await startCliNode(join(dir, 'a2'), ['--peer', hostPort(b.p2p)])
  nodes.push(a2)
  await waitForCliPeers([a2], 2, 20_000)
  const recover = await runCli(['recover', '--data', a2.dataDir, '--json'])
  assert.equal(recover.code, 0, recover.stderr)
  assert.equal(JSON.parse(recover.stdout).files, 1)
  assert.equal(JSON.parse(recover.stdout).missing, 0, 'every file the history lists was found')
  const back = await runCli(['get', 'f.bin', '-o', '-', '--data', a2.dataDir])
  assert.equal(sha(back.stdoutBytes), sha(bytes))
  network = { owner: a2, holders: [b, c] }
})

test('a holder process SIGKILLed in the middle of a put does not stall it: the put completes with 3 copies', { timeout: 120_000 }, async () => {
  assert.ok(network !== undefined, 'the first test\'s network is up')
  const dir = join(root, 'second')
  await mkdir(dir)
  const { owner: a, holders: [b, c] } = network
  const d = await joinCliNode(join(dir, 'd'), c)
  nodes.push(d)
  await waitForCliPeers([a], 3, 20_000)
  // 16 MiB: the put still runs when its first copies are on b (a few of its ~16 chunks).
  const bytes = randomBytes(16 * 1024 * 1024)
  await writeFile(join(dir, 'big.bin'), bytes)
  const before = (await apiJson(b.dataDir, '/api/status')).storage[a.nodeId] ?? 0
  const put = runCli(['put', join(dir, 'big.bin'), '--data', a.dataDir, '--json'])
  await waitFor('the first copies on b', async () => {
    const status = await apiJson(b.dataDir, '/api/status')
    return (status.storage[a.nodeId] ?? 0) > before
  }, { timeoutMs: 30_000, intervalMs: 20 })
  await b.kill()
  const done = await put
  assert.equal(done.code, 0, done.stderr)
  assert.equal(JSON.parse(done.stdout).replicas, 3)
  const got = await runCli(['get', 'big.bin', '-o', '-', '--data', a.dataDir])
  assert.equal(sha(got.stdoutBytes), sha(bytes))
})
