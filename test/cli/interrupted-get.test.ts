// A streamed `get -o FILE` that is interrupted leaves nothing behind, and its errors name the
// user's file, never the temp file beside it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI, runCli, sharedCliNode, tempDir, waitFor } from '../helpers/cli.ts'

/** One node for both tests (a node process costs ~2 CPU-seconds), started by the first. */
const sharedNode = sharedCliNode('dv-iget-')

test('Ctrl-C on a streamed get -o FILE leaves no .part file behind', async (t) => {
  const dir = await tempDir(t)
  const node = await sharedNode()
  const data = node.dataDir
  t.after(() => { node.proc.kill('SIGCONT') })
  // 64 MiB: far more than the get can have written between the temp file's first poll and SIGSTOP.
  await writeFile(join(dir, 'big.bin'), randomBytes(64 * 1024 * 1024))
  assert.equal((await runCli(['put', join(dir, 'big.bin'), '--data', data])).code, 0)
  const out = join(dir, 'out')
  await mkdir(out)

  const get = spawn(process.execPath, [CLI, 'get', 'big.bin', '-o', join(out, 'copy.bin'), '--data', data], { env: { ...process.env, DV_GET_STREAM: '1' }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  get.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => get.on('exit', (code, signal) => resolve(code ?? (signal === null ? null : -1))))
  // The download has begun once the temp file exists; freezing the node then keeps it unfinished.
  await waitFor('the temp file of the download', async () => (await readdir(out)).some(n => n.endsWith('.part')), { timeoutMs: 30_000, intervalMs: 2 })
  node.proc.kill('SIGSTOP')
  get.kill('SIGINT')
  const code = await exited
  node.proc.kill('SIGCONT')
  assert.deepEqual(await readdir(out), [], 'neither the temp file nor a partial copy is left')
  assert.equal(code, 130, `exits as interrupted (stderr: ${stderr})`)
})

test('a streamed get into a missing folder names the target in its error, not the temp file', async (t) => {
  const dir = await tempDir(t)
  const data = (await sharedNode()).dataDir
  assert.equal((await runCli(['put', '-', '--name', 'a.txt', '--data', data], { input: 'hello\n' })).code, 0)
  for (const env of [{ DV_GET_STREAM: '1' }, {}]) {
    const target = join(dir, 'missing', 'copy.txt')
    const get = await runCli(['get', 'a.txt', '-o', target, '--data', data], { env })
    assert.equal(get.code, 1)
    assert.match(get.stderr, /\(NOT_FOUND\)\n$/)
    assert.ok(get.stderr.includes(target), get.stderr)
    assert.doesNotMatch(get.stderr, /\.part/)
  }
})
