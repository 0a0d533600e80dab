// import and export (the node reading or writing a path on its own machine) take regular files
// only: a FIFO, a socket or a device is refused at once with BAD_INPUT and never blocks the node
// (open() of a FIFO waits for a writer forever, holding one of libuv's four disk threads).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'

const mkfifo = async (path: string): Promise<void> => { await promisify(execFile)('mkfifo', [path]) }

test('import and export refuse a FIFO, a socket and a device at once, and the node still reads, writes and stops cleanly', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data, ['--replicas', '1'])
  t.after(async () => { await node.kill() })
  const { token } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
  const post = async (route: string, body: unknown): Promise<{ status: number, code: string, ms: number }> => {
    const started = Date.now()
    const res = await fetch(`${node.api}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000)
    })
    return { status: res.status, code: (await res.json()).error?.code, ms: Date.now() - started }
  }

  const fifo = join(dir, 'fifo')
  await mkfifo(fifo)
  await symlink(fifo, join(dir, 'link-to-fifo'))
  const socketPath = join(dir, 'sock')
  const server = createServer().listen(socketPath)
  t.after(() => { server.close() })
  await new Promise((resolve) => server.once('listening', resolve))
  await mkdir(join(dir, 'folder'))

  // More FIFOs than libuv has disk threads: had any open() blocked, the later reads would hang too.
  let slowestMs = 0
  for (let i = 0; i < 6; i++) {
    for (const path of [fifo, join(dir, 'link-to-fifo'), socketPath, '/dev/zero', '/dev/null', join(dir, 'folder')]) {
      const res = await post('/api/files/import', { path, name: `x${i}` })
      assert.equal(res.status, 400, path)
      assert.equal(res.code, 'BAD_INPUT', path)
      assert.ok(res.ms < 5_000, `${path} refused promptly (${res.ms} ms)`)
      slowestMs = Math.max(slowestMs, res.ms)
    }
  }
  t.diagnostic(`36 imports of special files refused, the slowest in ${slowestMs} ms`)

  const content = randomBytes(2 * 1024 * 1024 + 9)
  await writeFile(join(dir, 'a.bin'), content)
  const put = await runCli(['put', join(dir, 'a.bin'), '--data', data])
  assert.equal(put.code, 0, put.stderr)
  for (const path of [fifo, join(dir, 'link-to-fifo'), socketPath, '/dev/null', join(dir, 'folder')]) {
    const res = await post('/api/files/export', { ref: 'a.bin', path })
    assert.equal(res.status, 400, path)
    assert.equal(res.code, 'BAD_INPUT', path)
    assert.ok(res.ms < 5_000, `${path} refused promptly (${res.ms} ms)`)
  }
  assert.ok((await stat(fifo)).isFIFO(), 'the FIFO is left as it was')
  assert.deepEqual((await readdir(dir)).filter(n => n.endsWith('.part')), [], 'no temp file left')

  // Through the CLI: put of a FIFO, get -o FIFO.
  const putFifo = await runCli(['put', fifo, '--data', data], { timeoutMs: 10_000 })
  assert.equal(putFifo.code, 1)
  assert.match(putFifo.stderr, /\(BAD_INPUT\)/)
  const getFifo = await runCli(['get', 'a.bin', '-o', fifo, '--data', data], { timeoutMs: 10_000 })
  assert.equal(getFifo.code, 1)
  assert.match(getFifo.stderr, /\(BAD_INPUT\)/)

  // The node still reads and writes files, and stops cleanly.
  const got = await runCli(['get', 'a.bin', '-o', join(dir, 'back.bin'), '--data', data])
  assert.equal(got.code, 0, got.stderr)
  assert.ok((await readFile(join(dir, 'back.bin'))).equals(content))
  const started = Date.now()
  assert.equal(await node.stop(), 0, 'clean exit')
  assert.ok(Date.now() - started < 10_000, `stopped in ${Date.now() - started} ms`)
  t.diagnostic(`the node stopped in ${Date.now() - started} ms`)
})
