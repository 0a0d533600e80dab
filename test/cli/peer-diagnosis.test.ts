// `peers` and `status` say why a configured --peer is not connected: the last dial error, and
// "wrong network key suspected" when the handshake fails.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { apiJson, hostPort, runCli, startCliNode, tempDir, waitFor } from '../helpers/cli.ts'

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

interface Peer { nodeId: string | null, addresses: string[], connected: boolean, configured?: boolean, lastError?: string, hint?: string }

test('peers and status say why a --peer is not connected: another network key, nothing listening', { timeout: 90_000 }, async (t) => {
  const dir = await tempDir(t)
  const other = await startCliNode(join(dir, 'other-network'))
  t.after(async () => { await other.kill() })
  const port = await closedPort()
  // A node of its own network (its own new network.key) told to join `other` and a dead port.
  const node = await startCliNode(join(dir, 'node'), ['--peer', hostPort(other.p2p), '--peer', `127.0.0.1:${port}`])
  t.after(async () => { await node.kill() })

  const peers = await waitFor('both --peer addresses diagnosed', async () => {
    const list = await apiJson<Peer[]>(node.dataDir, '/api/peers')
    return list.filter(p => p.lastError !== undefined).length === 2 ? list : undefined
  }, { timeoutMs: 30_000, intervalMs: 100 })
  assert.equal((JSON.parse((await runCli(['peers', '--data', node.dataDir, '--json'])).stdout) as Peer[]).filter(p => p.lastError !== undefined).length, 2, '`peers --json` diagnoses both')
  const wrongKey = peers.find(p => p.addresses.some(a => a.includes(`/tcp/${hostPort(other.p2p).split(':')[1]}`)))
  const dead = peers.find(p => p.addresses.some(a => a.includes(`/tcp/${port}`)))
  assert.ok(wrongKey !== undefined && dead !== undefined, JSON.stringify(peers))
  for (const p of [wrongKey, dead]) {
    assert.equal(p.connected, false)
    assert.equal(p.configured, true)
    assert.equal(p.nodeId, null, 'a host:port never reached has no known node ID')
    for (const key of ['addresses', 'latencyMs', 'since']) assert.ok(key in p, `${key} is kept`)
  }
  assert.match(wrongKey.hint ?? '', /wrong network key suspected/)
  assert.match(dead.lastError ?? '', /ECONNREFUSED/)
  assert.match(dead.hint ?? '', /nothing listens/)

  const text = await runCli(['peers', '--data', node.dataDir])
  assert.match(text.stdout, /not connected: \/ip4\/127\.0\.0\.1\/tcp\/\d+ \(--peer\): wrong network key suspected/)
  const status = JSON.parse((await runCli(['status', '--data', node.dataDir, '--json'])).stdout) as { peers: Peer[] }
  assert.ok(status.peers.some(p => /wrong network key suspected/.test(p.hint ?? '')))
  assert.match((await runCli(['status', '--data', node.dataDir])).stdout, /unreached .*wrong network key suspected/)
})
