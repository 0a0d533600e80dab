// The same identity started twice (a second data dir recovered from the same phrase, on another
// port) is detected through a peer both reach, and reported on both: a warning and status.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { apiJson, hostPort, joinCliNode, runCli, startCliNode, tempDir, waitFor, type CliNode } from '../helpers/cli.ts'

interface Duplicate { detectedAt: string, reportedBy: string, addresses: string[] }

test('a second node with the same identity is detected and reported on both', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t)
  const nodes: CliNode[] = []
  t.after(async () => { await Promise.all(nodes.map(async n => await n.kill())) })
  const hub = await startCliNode(join(dir, 'hub'))
  nodes.push(hub)
  // a: a fresh node of the hub's network (its phrase in its ready line); the twin: recovered from
  // that phrase by `init --recover --join`, then started.
  const a = await joinCliNode(join(dir, 'a'), hub)
  nodes.push(a)
  const { phrase, nodeId } = a as { phrase: string, nodeId: string }
  const twin = await runCli(['init', '--recover', '--data', join(dir, 'twin'), '--join', join(hub.dataDir, 'network.key')], { input: phrase + '\n' })
  assert.equal(twin.code, 0, twin.stderr)
  const b = await startCliNode(join(dir, 'twin'), ['--peer', hostPort(hub.p2p)])
  nodes.push(b)
  assert.equal(a.nodeId, nodeId)
  assert.equal(b.nodeId, nodeId)

  for (const node of [a, b]) {
    const duplicate = await waitFor('status.duplicateIdentity', async () => {
      const status = await apiJson<{ duplicateIdentity: Duplicate | null }>(node.dataDir, '/api/status')
      return status.duplicateIdentity ?? undefined
    }, { timeoutMs: 30_000, intervalMs: 100 })
    const shown = JSON.parse((await runCli(['status', '--data', node.dataDir, '--json'])).stdout) as { duplicateIdentity: Duplicate | null }
    assert.deepEqual(shown.duplicateIdentity, duplicate, '`status --json` shows it')
    assert.equal(duplicate.reportedBy, hub.nodeId)
    assert.ok(duplicate.addresses.length > 0)
    assert.match(node.stderr(), /another node runs with this node's identity/)
    assert.match((await runCli(['status', '--data', node.dataDir])).stdout, /WARNING +another node runs with this identity/)
  }
  const hubStatus = JSON.parse((await runCli(['status', '--data', hub.dataDir, '--json'])).stdout)
  assert.equal(hubStatus.duplicateIdentity, null, 'the hub itself is not duplicated')
  assert.match(hub.stderr(), /two nodes run with the same identity/)
})
