// Message texts come from other nodes: shown on a terminal they cannot drive it, and kept in the
// catalog they are sealed, so the data dir reveals no message content.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI, joinCliNode, runCli, startCliNode, tempDir, waitFor, waitForCliPeers, type CliNode } from '../helpers/cli.ts'

// Clear screen, cursor home, a C1 CSI (colour), a bidi override, DEL, a bell and a newline.
const EVIL = 'marker-7f3a\x1b[2J\x1b[Hgone\x9b31mred\u202eesrever\x7f\x07\nnext'
const CONTROLS = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

test('msg listen and msg history show control characters escaped, and the catalog keeps no text in clear', { timeout: 90_000 }, async (t) => {
  const dir = await tempDir(t)
  const nodes: CliNode[] = []
  t.after(async () => { await Promise.all(nodes.map(async n => await n.kill())) })
  const a = await startCliNode(join(dir, 'a'))
  nodes.push(a)
  const b = await joinCliNode(join(dir, 'b'), a)
  nodes.push(b)
  const listen = spawn(process.execPath, [CLI, 'msg', 'listen', '--data', b.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.after(() => { listen.kill('SIGKILL') })
  let out = ''
  let attached = false
  listen.stdout.on('data', (d: Buffer) => { out += d.toString() })
  listen.stderr.on('data', () => { attached = true })
  await waitForCliPeers([b], 1, 15_000)
  await waitFor('msg listen to be attached', () => attached, { timeoutMs: 10_000 })

  const sent = await runCli(['msg', 'send', b.nodeId, EVIL, '--data', a.dataDir, '--json'])
  assert.equal(sent.code, 0, sent.stderr)
  await waitFor('the message printed by msg listen', () => out.includes('\n'), { timeoutMs: 10_000 })
  assert.doesNotMatch(out.slice(0, -1), CONTROLS, 'listen prints no control character')
  assert.ok(out.includes('marker-7f3a\\x1b[2J\\x1b[Hgone\\x9b31mred\\u202eesrever\\x7f\\x07\\x0anext'), out)

  for (const node of [a, b]) {
    const history = await runCli(['msg', 'history', '--data', node.dataDir])
    assert.equal(history.code, 0, history.stderr)
    assert.doesNotMatch(history.stdout.replaceAll('\n', ''), CONTROLS, 'history prints no control character')
    assert.ok(history.stdout.includes('marker-7f3a\\x1b[2J'), history.stdout)
    const json = JSON.parse((await runCli(['msg', 'history', '--data', node.dataDir, '--json'])).stdout)
    assert.equal(json.at(-1).text, EVIL, '--json keeps the exact text')
  }
  for (const node of [a, b]) {
    for (const name of (await readdir(node.dataDir)).filter(n => n.startsWith('catalog.db'))) {
      assert.ok(!(await readFile(join(node.dataDir, name))).includes('marker-7f3a'), `${name} holds no message text`)
    }
  }
})
