// node.pid: a live node on the data dir keeps a second one out, but a PID that now belongs to an
// unrelated process (after a crash and a reboot, PIDs are reused) does not block `start`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI, runCli, startCliNode, tempDir, waitFor } from '../helpers/cli.ts'
import { NODE_FLAGS } from '../../src/runtime/index.ts'

test('node.pid naming an unrelated live process does not block start, and counts as an unclean stop', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  assert.equal((await runCli(['init', '--data', data])).code, 0)
  const other = spawn('sleep', ['60'], { stdio: 'ignore' })
  t.after(() => { other.kill('SIGKILL') })
  // The old format (PID only), and the new one with another process's start time.
  for (const content of [`${other.pid}\n`, `${other.pid}\n12345\n`]) {
    await writeFile(join(data, 'node.pid'), content)
    const node = await startCliNode(data, [])
    t.after(async () => { await node.kill() })
    const [pid] = (await readFile(join(data, 'node.pid'), 'utf8')).split('\n')
    assert.equal(Number(pid), node.proc.pid, 'the new node holds the lock')
    // The log line may reach stderr after the ready line reached stdout.
    await waitFor('the unclean-stop warning', () => /did not stop cleanly/.test(node.stderr()), { timeoutMs: 15_000 })
    assert.equal(await node.stop(), 0)
  }
})

test('a second node on the data dir of a running one is refused', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data)
  t.after(async () => { await node.kill() })
  const second = await runCli(['start', '--data', data, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0'])
  assert.equal(second.code, 1)
  assert.match(second.stderr, /already running on this data directory .*\(ALREADY_EXISTS\)/)
})

test('a node killed with SIGKILL whose parent has not reaped it yet (a zombie) does not block start', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  // The shell starts the node, then becomes a `sleep` that never waits for it: once killed, the
  // node stays a zombie (its PID alive to kill(pid, 0)) until the sleep ends.
  const script = '"$0" "$@" & exec sleep 120'
  const parent = spawn('sh', ['-c', script, process.execPath, ...NODE_FLAGS, CLI, 'start', '--data', data, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', '--json'], { stdio: ['ignore', 'pipe', 'ignore'] })
  t.after(() => { parent.kill('SIGKILL') })
  let out = ''
  parent.stdout.on('data', (d: Buffer) => { out += d.toString() })
  await waitFor('the first node ready', () => out.includes('"event":"ready"'), { timeoutMs: 60_000 })
  const pid = Number((await readFile(join(data, 'node.pid'), 'utf8')).split('\n')[0])
  process.kill(pid, 'SIGKILL')
  const state = async (): Promise<string | undefined> => (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined))?.split(') ')[1]?.[0]
  await waitFor('the killed node a zombie', async () => await state() === 'Z', { timeoutMs: 15_000 })

  const node = await startCliNode(data, [])
  t.after(async () => { await node.kill() })
  await waitFor('the unclean-stop warning', () => /did not stop cleanly/.test(node.stderr()), { timeoutMs: 15_000 })
  assert.equal(await node.stop(), 0)
})
