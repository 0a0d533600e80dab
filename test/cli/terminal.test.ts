// What a user sees on a terminal (the CLI run under a pseudo-terminal, its screen replayed).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI, startCliNode, tempDir } from '../helpers/cli.ts'
import { renderScreen, runOnTerminal } from '../helpers/terminal.ts'

const sh = (args: string[]): string => args.map(a => `'${a.replaceAll("'", "'\\''")}'`).join(' ')

test('on a terminal, the put progress bar leaves every file ID readable', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data)
  t.after(async () => { await node.kill() })
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
