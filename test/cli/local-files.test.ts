// put and get with the node on the CLI's own machine: the CLI hands the node a path
// (POST /api/files/import and /export) and the node reads or writes the file itself. The same bytes
// come and go as over HTTP; bad paths are refused with stable codes before anything happens; a
// failed export leaves nothing behind.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir, type CliNode } from '../helpers/cli.ts'
import { flipByte, listFiles } from '../helpers/fs.ts'

/**
 * One node (one copy per file) for the four tests below, started once (a node process costs
 * seconds of CPU): each test works in a temp dir of its own, under names no other test uses.
 */
let shared: { node: CliNode, api: string, token: string } | undefined
const sharedRoot = await mkdtemp(join(tmpdir(), 'dv-test-'))
before(async () => {
  const data = join(sharedRoot, 'node')
  const node = await startCliNode(data, ['--replicas', '1'])
  const { token } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
  shared = { node, api: node.api, token }
})
after(async () => {
  await shared?.node.kill()
  await rm(sharedRoot, { recursive: true, force: true })
})

/** The shared node, a temp dir of this test's own, and a function that POSTs JSON to `route` with the node's token. */
async function nodeWithRoute (t: Parameters<typeof tempDir>[0], route = '/api/files/import'): Promise<{ dir: string, data: string, post: (body: unknown) => Promise<Response> }> {
  const dir = await tempDir(t)
  const { node: { dataDir: data }, api, token } = shared!
  const post = async (body: unknown): Promise<Response> => await fetch(`${api}${route}`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  return { dir, data, post }
}

test('put of a local file is read by the node itself, streamed put gives the same file, both read back equal', async (t) => {
  const { dir, data } = await nodeWithRoute(t)
  const content = randomBytes(2 * 1024 * 1024 + 123)
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
  const listed = (JSON.parse((await runCli(['ls', '--json', '--data', data])).stdout) as Array<{ name: string, mtime: string }>)
    .filter((f) => f.name === 'local.bin' || f.name === 'streamed.bin')
  assert.deepEqual(listed.map((f) => f.name).sort(), ['local.bin', 'streamed.bin'])
  assert.equal(listed[0].mtime, listed[1].mtime, 'the file\'s own mtime either way')
})

test('the import API refuses relative paths, missing files and folders with stable codes, and answers NDJSON', async (t) => {
  const { dir, data, post } = await nodeWithRoute(t, '/api/files/import')
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
  const { url } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
  const noToken = await fetch(`${url}/api/files/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
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

test('get -o PATH has the node write the file: same bytes and mtime as a streamed get, atomically, never clobbering by default', async (t) => {
  const { dir, data } = await nodeWithRoute(t)
  const content = randomBytes(2 * 1024 * 1024 + 7)
  await writeFile(join(dir, 'src.bin'), content)
  assert.equal((await runCli(['put', join(dir, 'src.bin'), '--name', 'docs/f.bin', '--data', data])).code, 0)

  const out = join(dir, 'out')
  await mkdir(out)
  const local = await runCli(['get', 'docs/f.bin', '-o', join(out, 'local.bin'), '--json', '--data', data])
  assert.equal(local.code, 0, local.stderr)
  assert.deepEqual(Object.keys(JSON.parse(local.stdout)).sort(), ['id', 'name', 'path', 'size'])
  assert.equal(JSON.parse(local.stdout).path, join(out, 'local.bin'))
  const streamed = await runCli(['get', 'docs/f.bin', '-o', join(out, 'streamed.bin'), '--data', data], { env: { DV_GET_STREAM: '1' } })
  assert.equal(streamed.code, 0, streamed.stderr)
  const toDir = await runCli(['get', 'docs/f.bin', '-o', out, '--data', data])
  assert.equal(toDir.code, 0, toDir.stderr)
  for (const name of ['local.bin', 'streamed.bin', 'f.bin']) {
    assert.ok((await readFile(join(out, name))).equals(content), name)
  }
  assert.equal((await stat(join(out, 'local.bin'))).mtimeMs, (await stat(join(out, 'streamed.bin'))).mtimeMs)
  assert.deepEqual((await readdir(out)).sort(), ['f.bin', 'local.bin', 'streamed.bin'], 'no temp file left')

  const again = await runCli(['get', 'docs/f.bin', '--data', data], { cwd: out })
  assert.equal(again.code, 1)
  assert.match(again.stderr, /\(ALREADY_EXISTS\)/)
  const missing = await runCli(['get', 'nope.bin', '-o', join(out, 'x'), '--data', data])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /\(NOT_FOUND\)/)
})

test('the export API refuses bad paths with stable codes, and a chunk that fails its check leaves no file behind', async (t) => {
  const { dir, data, post } = await nodeWithRoute(t, '/api/files/export')
  const content = randomBytes(3 * 1024 * 1024)
  await writeFile(join(dir, 'a.bin'), content)
  const others = new Set(await listFiles(join(data, 'storage')))
  assert.equal((await runCli(['put', join(dir, 'a.bin'), '--data', data])).code, 0)
  for (const [body, status, code] of [
    [{ ref: 'a.bin', path: 'relative.bin' }, 400, 'BAD_INPUT'],
    [{ ref: 'a.bin', path: join(dir, 'no-such-folder', 'x.bin') }, 404, 'NOT_FOUND'],
    [{ ref: 'nothing.bin', path: join(dir, 'x.bin') }, 404, 'NOT_FOUND'],
    [{ path: join(dir, 'x.bin') }, 400, 'BAD_INPUT']
  ] as const) {
    const res = await post(body)
    assert.equal(res.status, status, JSON.stringify(body))
    assert.equal((await res.json()).error.code, code, JSON.stringify(body))
  }

  const ok = await post({ ref: 'a.bin', path: join(dir, 'copy.bin') })
  const last = JSON.parse((await ok.text()).trim().split('\n').pop() ?? '{}')
  assert.equal(last.result.size, content.length)
  assert.ok((await readFile(join(dir, 'copy.bin'))).equals(content))

  // Damage one chunk on disk: the export must fail with CORRUPT and leave neither file nor temp file.
  const blobs = (await listFiles(join(data, 'storage'))).filter((b) => !others.has(b)) // a.bin's (the other tests' files share the node)
  const sizes = await Promise.all(blobs.map(async (b) => (await stat(b)).size))
  const chunk = blobs[sizes.indexOf(Math.max(...sizes))]
  await flipByte(chunk, 1000)
  const out = join(dir, 'out')
  await mkdir(out)
  const bad = await runCli(['get', 'a.bin', '-o', join(out, 'a.bin'), '--data', data])
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /\(CORRUPT\)/)
  assert.deepEqual(await readdir(out), [])
})

// Needs root, to run the node as another user: the node then may not read the CLI user's private
// file nor write into its private folder, and the CLI must fall back to streaming, with the same result.
const NOBODY = { uid: 65534, gid: 65534 }
test('a node that may not read or write the paths: put and get fall back to streaming and still work', { skip: process.getuid?.() !== 0 ? 'needs root to run the node as another user' : false }, async (t) => {
  const dir = await tempDir(t)
  await chmod(dir, 0o755)
  const data = join(dir, 'node')
  await mkdir(data)
  await chown(data, NOBODY.uid, NOBODY.gid)
  const node = await startCliNode(data, ['--replicas', '1'], undefined, NOBODY)
  t.after(async () => { await node.kill() })
  const content = randomBytes(2 * 1024 * 1024)
  const mine = join(dir, 'mine')
  await mkdir(mine, { mode: 0o700 })
  await writeFile(join(mine, 'private.bin'), content, { mode: 0o600 })

  const put = await runCli(['put', join(mine, 'private.bin'), '--json', '--data', data])
  assert.equal(put.code, 0, put.stderr)
  assert.equal(JSON.parse(put.stdout).size, content.length)
  const get = await runCli(['get', 'private.bin', '-o', join(mine, 'back.bin'), '--json', '--data', data])
  assert.equal(get.code, 0, get.stderr)
  assert.ok((await readFile(join(mine, 'back.bin'))).equals(content))
  assert.deepEqual((await readdir(mine)).sort(), ['back.bin', 'private.bin'])
})
