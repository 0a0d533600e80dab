// Messaging through the CLI between node processes: `msg listen --json` prints direct and
// broadcast messages within a second, and a message to an offline node arrives when it returns.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { deriveIdentity } from '../../src/identity/index.ts'
import { apiJson, CLI, hostPort, joinCliNode, runCli, startCliNode, tempDir, waitFor, waitForCliPeers, type CliNode } from '../helpers/cli.ts'

test('msg listen prints direct and broadcast messages as they arrive; offline messages wait for reconnect', { timeout: 90_000 }, async (t) => {
  const dir = await tempDir(t)
  const nodes: CliNode[] = []
  t.after(async () => { await Promise.all(nodes.map(async n => await n.kill())) })
  const a = await startCliNode(join(dir, 'a'))
  nodes.push(a)
  let b = await joinCliNode(join(dir, 'b'), a)
  nodes.push(b)

  const listen = spawn(process.execPath, [CLI, 'msg', 'listen', '--json', '--data', b.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { listen.kill('SIGKILL') })
  let attached = false
  let listenErr = ''
  listen.stderr.on('data', (d: Buffer) => { attached = true; listenErr += d.toString() })
  const listenExit = new Promise<number | null>(resolve => listen.on('exit', code => resolve(code)))
  const lines: Array<{ from: string, to: string, text: string, at: string, seenAt: number }> = []
  let partial = ''
  listen.stdout.on('data', (d: Buffer) => {
    partial += d.toString()
    const parts = partial.split('\n')
    partial = parts.pop()!
    for (const line of parts) lines.push({ ...JSON.parse(line), seenAt: Date.now() })
  })
  await waitForCliPeers([b], 1, 15_000)
  await waitFor('msg listen to be attached', () => attached, { timeoutMs: 10_000 })

  const direct = await runCli(['msg', 'send', b.nodeId, 'hello b', '--data', a.dataDir, '--json'])
  assert.equal(direct.code, 0, direct.stderr)
  assert.equal(JSON.parse(direct.stdout).delivered, true)
  const all = await runCli(['msg', 'send', '--all', 'hello everyone', '--data', a.dataDir, '--json'])
  assert.equal(all.code, 0, all.stderr)
  await waitFor('both messages printed by msg listen', () => lines.length >= 2, { timeoutMs: 5_000 })
  assert.deepEqual(lines.map(l => [l.from, l.to, l.text]), [[a.nodeId, b.nodeId, 'hello b'], [a.nodeId, '*', 'hello everyone']])
  for (const l of lines) assert.ok(l.seenAt - Date.parse(l.at) < 1000, `printed ${l.seenAt - Date.parse(l.at)} ms after sending`)

  // c is offline: the message is kept and delivered when c starts.
  // A node ID never seen (derived in this process: an `init` process costs as much as a node start).
  const cId = (await deriveIdentity(randomBytes(32))).nodeId
  const toUnknown = await runCli(['msg', 'send', cId, 'are you there', '--data', a.dataDir])
  assert.equal(toUnknown.code, 0)
  assert.match(toUnknown.stdout, /offline.*kept.*reconnects/)
  await b.stop()
  assert.equal(await listenExit, 1, 'msg listen ends when its node stops')
  assert.match(listenErr, /error: the node stopped \(NOT_RUNNING\)\n$/)
  const later = await runCli(['msg', 'send', b.nodeId, 'while you were away', '--data', a.dataDir, '--json'])
  assert.equal(JSON.parse(later.stdout).delivered, false)
  b = await startCliNode(join(dir, 'b'), ['--peer', hostPort(a.p2p)])
  nodes.push(b)
  const kept = (history: Array<{ text: string, from: string }>): boolean => history.some(m => m.text === 'while you were away' && m.from === a.nodeId)
  // Polled through the API (what `msg history --json` prints), then asserted through the CLI.
  await waitFor('the kept message in b\'s history', async () => kept(await apiJson(b.dataDir, '/api/messages?limit=100')), { timeoutMs: 20_000, intervalMs: 100 })
  assert.ok(kept(JSON.parse((await runCli(['msg', 'history', '--data', b.dataDir, '--json'])).stdout)), '`msg history` lists it')
})
