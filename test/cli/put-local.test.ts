// put of a file on the node's own machine: the CLI hands the node the path (POST /api/files/import)
// and the node reads it itself. The same bytes come back as with a streamed upload; bad paths are
// refused with stable codes before anything is stored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'

test('put of a local file is read by the node itself, streamed put gives the same file, both read back equal', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data, ['--replicas', '1'])
  t.after(async () => { await node.kill() })
  const content = randomBytes(5 * 1024 * 1024 + 123)
  const file = join(dir, 'big.bin')
  await writeFile(file, content)

  const local = await runCli(['put', file, '--name', 'local.bin', '--json', '--data', data])
  assert.equal(local.code, 0, local.stderr)
  const streamed = await runCli(['put', file, '--name', 'streamed.bin', '--json', '--data', data], { env: { DV_PUT_STREAM: '1' } })
  assert.equal(streamed.code, 0, streamed.stderr)
  const a = JSON.parse(local.stdout)
  const b = JSON.parse(streamed.stdout)
  assert.equal(a.size, content.length)
  assert.equal(b.size, content.length)
  assert.equal(a.name, 'local.bin')
  for (const name of ['local.bin', 'streamed.bin']) {
    const got = await runCli(['get', name, '-o', '-', '--data', data])
    assert.equal(got.code, 0, got.stderr)
    assert.ok(got.stdoutBytes.equals(content), `${name} reads back byte-equal`)
  }
  const listed = JSON.parse((await runCli(['ls', '--json', '--data', data])).stdout) as Array<{ name: string, mtime: string }>
  assert.deepEqual(listed.map((f) => f.name).sort(), ['local.bin', 'streamed.bin'])
  assert.equal(listed[0].mtime, listed[1].mtime, 'the file\'s own mtime either way')
})

test('the import API refuses relative paths, missing files and folders with stable codes, and answers NDJSON', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data, ['--replicas', '1'])
  t.after(async () => { await node.kill() })
  const { token } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
  const post = async (body: unknown): Promise<Response> => await fetch(`${node.api}/api/files/import`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  await mkdir(join(dir, 'folder'))
  await writeFile(join(dir, 'small.bin'), 'small')
  for (const [body, status, code] of [
    [{ path: 'relative.bin', name: 'x' }, 400, 'BAD_INPUT'],
    [{ path: join(dir, 'nothing-here.bin'), name: 'x' }, 404, 'NOT_FOUND'],
    [{ path: join(dir, 'folder'), name: 'x' }, 400, 'BAD_INPUT'],
    [{ path: join(dir, 'small.bin'), name: '../escape' }, 400, 'BAD_INPUT'],
    [{ name: 'x' }, 400, 'BAD_INPUT']
  ] as const) {
    const res = await post(body)
    assert.equal(res.status, status, JSON.stringify(body))
    assert.equal((await res.json()).error.code, code, JSON.stringify(body))
  }
  const noToken = await fetch(`${node.api}/api/files/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  assert.equal(noToken.status, 401)

  const content = randomBytes(3 * 1024 * 1024)
  await writeFile(join(dir, 'ok.bin'), content)
  const res = await post({ path: join(dir, 'ok.bin'), name: 'ok.bin' })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /ndjson/)
  const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
  const last = lines.pop()
  assert.equal(last.result.name, 'ok.bin')
  assert.equal(last.result.size, content.length)
  for (const l of lines) assert.equal(typeof l.progress, 'number')
  const got = await runCli(['get', 'ok.bin', '-o', '-', '--data', data])
  assert.ok(got.stdoutBytes.equals(content))
})
