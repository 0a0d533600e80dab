// What a user sees on a terminal (the CLI run under a pseudo-terminal, its screen replayed).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI, runCli, sharedCliNode, tempDir, waitFor } from '../helpers/cli.ts'
import { renderScreen, runOnTerminal, spawnOnTerminal } from '../helpers/terminal.ts'

/**
 * The node of the first test, started once: the last test recovers its identity (its phrase from
 * the ready line, its network key) instead of running an `init` process of its own to have one.
 */
const sharedNode = sharedCliNode('dv-terminal-')

const sh = (args: string[]): string => args.map(a => `'${a.replaceAll("'", "'\\''")}'`).join(' ')

test('on a terminal, the put progress bar leaves every file ID readable', async (t) => {
  const dir = await tempDir(t)
  const data = (await sharedNode()).dataDir
  await writeFile(join(dir, 'one.bin'), randomBytes(6 * 1024 * 1024))
  await writeFile(join(dir, 'two.bin'), randomBytes(6 * 1024 * 1024))
  const raw = await runOnTerminal(sh([process.execPath, CLI, 'put', join(dir, 'one.bin'), join(dir, 'two.bin'), '--data', data]))
  assert.match(raw, /put \[/, 'a bar was drawn')
  const screen = renderScreen(raw)
  const results = screen.filter(l => /^[0-9a-f]{64} {2}(one|two)\.bin {2}6\.0 MiB {2}replicas=1$/.test(l))
  assert.equal(results.length, 2, `both results stay on the screen, whole:\n${screen.join('\n')}`)
  assert.ok(!screen.some(l => l.includes('put [')), `no bar is left behind:\n${screen.join('\n')}`)
  assert.ok(screen.some(l => l.startsWith('warning: one.bin is under-replicated')), 'the warning is readable too')
})

test('on a terminal, start logs readable lines under the recovery phrase banner; --log-format json keeps JSON', async (t) => {
  const dir = await tempDir(t)
  for (const format of ['auto', 'json']) {
    const data = join(dir, format)
    const term = spawnOnTerminal(sh([process.execPath, CLI, 'start', '--data', data, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', ...(format === 'json' ? ['--log-format', 'json'] : [])]))
    t.after(() => { term.proc.kill('SIGKILL') })
    await waitFor('the ready line', () => /\nready 12D3/.test(term.output()), { timeoutMs: 30_000 })
    const { pid } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
    process.kill(pid, 'SIGINT')
    await term.exited
    const screen = renderScreen(term.output())
    const phraseAt = screen.findIndex(l => l.includes('RECOVERY PHRASE'))
    const readyAt = screen.findIndex(l => l.startsWith('ready 12D3'))
    assert.ok(phraseAt >= 0 && readyAt > phraseAt, `the banner comes right before the ready line:\n${screen.join('\n')}`)
    assert.ok(screen.slice(phraseAt, readyAt).every(l => !/^\{"level"|^\d\d:\d\d:\d\d /.test(l)), 'no log line inside the banner')
    if (format === 'auto') {
      assert.ok(!screen.some(l => l.startsWith('{')), `no JSON log line on a terminal:\n${screen.join('\n')}`)
      assert.ok(screen.some(l => /^\d\d:\d\d:\d\d INFO +node ready +nodeId=12D3/.test(l)), screen.join('\n'))
      assert.ok(screen.some(l => /^\d\d:\d\d:\d\d INFO +node stopped$/.test(l)), screen.join('\n'))
    } else {
      assert.ok(screen.some(l => l.startsWith('{"level":30') && l.includes('"msg":"node ready"')), screen.join('\n'))
    }
  }
  const bad = await runCli(['start', '--data', join(dir, 'x'), '--log-format', 'xml'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--log-format must be one of auto, text, json.*\(BAD_USAGE\)/)
})

test('init --recover on a terminal does not echo the phrase as it is typed', async (t) => {
  const dir = await tempDir(t)
  const node = await sharedNode()
  const first = { nodeId: node.nodeId, phrase: node.phrase! }
  const term = spawnOnTerminal(sh([process.execPath, CLI, 'init', '--recover', '--data', join(dir, 'b'), '--join', join(node.dataDir, 'network.key')]))
  t.after(() => { term.proc.kill('SIGKILL') })
  await waitFor('the prompt', () => /recovery phrase/i.test(term.output()), { timeoutMs: 20_000 })
  // Enter, then Ctrl-D (which ends the input where a phrase is read up to end of file)
  term.proc.stdin.write(first.phrase + '\r\x04')
  assert.equal(await term.exited, 0, term.output())
  const words = first.phrase.split(' ')
  const shown = term.output()
  const pairs = words.slice(1).map((w, i) => `${words[i]} ${w}`)
  assert.ok(!pairs.some(p => shown.includes(p)), `the phrase is not on the screen:\n${shown}`)
  assert.ok(shown.includes(`node ID: ${first.nodeId}`), shown)
  term.proc.stdin.end()
})
