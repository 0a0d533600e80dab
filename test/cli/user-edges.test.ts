// A new user's mistakes and odd inputs, through real processes: every one ends in the one error
// format (`error: <message> (<CODE>)`), the exit status the contract gives, and nothing left behind.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, sharedCliNode, tempDir } from '../helpers/cli.ts'

const node = sharedCliNode('dv-user-edges-')

test('get -o PATH under a file (not a folder) is NOT_FOUND naming PATH, with no temp file and no stack', async (t) => {
  const { dataDir } = await node()
  const dir = await tempDir(t)
  await writeFile(join(dir, 'src.txt'), 'some bytes\n')
  assert.equal((await runCli(['put', join(dir, 'src.txt'), '--name', 'edges-under-file.txt', '--data', dataDir])).code, 0)
  await writeFile(join(dir, 'plain'), 'a file, not a folder\n')
  for (const output of [join(dir, 'plain', 'x.txt'), 'plain/x.txt']) {
    const get = await runCli(['get', 'edges-under-file.txt', '-o', output, '--data', dataDir], { cwd: dir })
    assert.equal(get.code, 1, get.stderr)
    assert.match(get.stderr, /^error: .*plain\/x\.txt.* \(NOT_FOUND\)\n$/)
    assert.doesNotMatch(get.stderr, /\.part|INTERNAL|unexpected failure/)
  }
  assert.deepEqual((await readdir(dir)).sort(), ['plain', 'src.txt'])
})

test('init and start with --data naming a file are BAD_INPUT, not INTERNAL, and leave the file alone', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'not-a-folder')
  await writeFile(file, 'keep me\n')
  for (const args of [['init'], ['start', '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0']]) {
    const run = await runCli([...args, '--data', file])
    assert.equal(run.code, 1, run.stderr)
    assert.match(run.stderr, /error: .*not-a-folder.* is not a folder.* \(BAD_INPUT\)\n$/)
    assert.doesNotMatch(run.stderr, /INTERNAL|unexpected failure|EEXIST/)
  }
  assert.equal(await readFile(file, 'utf8'), 'keep me\n')
})

test('put --json gives {id, name, size, replicas, kind, files} for a file, stdin and a folder alike', async (t) => {
  const { dataDir } = await node()
  const dir = await tempDir(t)
  await writeFile(join(dir, 'edges-kind.txt'), '')
  await mkdir(join(dir, 'edges-kind-dir'))
  await writeFile(join(dir, 'edges-kind-dir', 'a.txt'), 'a')
  const put = await runCli(['put', join(dir, 'edges-kind.txt'), join(dir, 'edges-kind-dir'), '--data', dataDir, '--json'])
  assert.equal(put.code, 0, put.stderr)
  const fromStdin = await runCli(['put', '-', '--name', 'edges-kind-stdin.txt', '--data', dataDir, '--json'], { input: 'x' })
  assert.equal(fromStdin.code, 0, fromStdin.stderr)
  const lines = [...put.stdout.trim().split('\n'), fromStdin.stdout.trim()].map(l => JSON.parse(l))
  for (const line of lines) {
    for (const key of ['id', 'name', 'size', 'replicas', 'kind', 'files']) assert.ok(Object.hasOwn(line, key), `${line.name}: no ${key}`)
  }
  assert.deepEqual(lines.map(l => [l.name, l.kind, l.files]), [['edges-kind.txt', 'file', 1], ['edges-kind-dir', 'tree', 1], ['edges-kind-stdin.txt', 'file', 1]])
})

test('a malformed flag value is bad usage (exit 2, BAD_USAGE) before the node is asked: get --version, msg history --limit', async (t) => {
  const { dataDir } = await node()
  const dir = await tempDir(t)
  await writeFile(join(dir, 'v.txt'), 'v1\n')
  assert.equal((await runCli(['put', join(dir, 'v.txt'), '--name', 'edges-version.txt', '--data', dataDir])).code, 0)
  for (const args of [
    ['get', 'edges-version.txt', '--version', 'abc', '-o', '-'],
    ['get', 'edges-version.txt', '--version', '0', '-o', '-'],
    ['get', 'edges-version.txt', '--version', '1.5', '-o', '-'],
    ['msg', 'history', '--limit', '0'],
    ['msg', 'history', '--limit', '10001'],
    ['msg', 'history', '--limit', 'x']
  ]) {
    const run = await runCli([...args, '--data', dataDir])
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`)
    assert.match(run.stderr, /^error: .* \(BAD_USAGE\)\n$/)
  }
  // In range, they work; a version that does not exist is NOT_FOUND (exit 1), not bad usage.
  assert.equal((await runCli(['get', 'edges-version.txt', '--version', '1', '-o', '-', '--data', dataDir])).stdout, 'v1\n')
  assert.equal((await runCli(['get', 'edges-version.txt', '--version', '2', '-o', '-', '--data', dataDir])).code, 1)
  assert.equal((await runCli(['msg', 'history', '--limit', '10000', '--data', dataDir])).code, 0)
})

test('put of a file the node reads itself whose chunks are all maximal (4 MiB of zeros, 9 MiB of one byte) stores it whole', async (t) => {
  const { dataDir } = await node()
  const dir = await tempDir(t)
  const files = { 'edges-zeros-4m.bin': Buffer.alloc(4 * 1024 * 1024), 'edges-a-9m.bin': Buffer.alloc(9 * 1024 * 1024, 'a') }
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes)
  const put = await runCli(['put', ...Object.keys(files).map(n => join(dir, n)), '--data', dataDir, '--json'])
  assert.equal(put.code, 0, put.stderr)
  assert.deepEqual(put.stdout.trim().split('\n').map(l => JSON.parse(l).size), Object.values(files).map(b => b.length))
  for (const [name, bytes] of Object.entries(files)) {
    const get = await runCli(['get', name, '-o', '-', '--data', dataDir])
    assert.equal(get.code, 0, get.stderr)
    assert.ok(get.stdoutBytes.equals(bytes), name)
  }
})

test('over a limit is TOO_LARGE (docs/ERRORS.md), whatever the text is made of: a message over 64 KiB, a name over 4096 bytes', async (t) => {
  const { dataDir } = await node()
  const dir = await tempDir(t)
  const otherNode = '12D3KooW9tmAAysRLzNyHbbC9GeSPTJVhhb6sN1fi7jzQK33ZXJn' // a valid node ID, not connected
  // 64 Ki + 1 ASCII characters (over in characters and bytes); 30,000 'é' (under in characters, over in bytes).
  for (const text of ['a'.repeat(64 * 1024 + 1), 'é'.repeat(33_000)]) {
    for (const to of [otherNode, '--all']) {
      const send = await runCli(['msg', 'send', '--data', dataDir, to, text])
      assert.equal(send.code, 1, send.stderr)
      assert.match(send.stderr, /^error: .* \(TOO_LARGE\)\n$/)
    }
  }
  await writeFile(join(dir, 'f.txt'), 'x')
  const put = await runCli(['put', join(dir, 'f.txt'), '--name', 'n'.repeat(5000), '--data', dataDir])
  assert.equal(put.code, 1, put.stderr)
  assert.match(put.stderr, /\(TOO_LARGE\)\n$/)
  assert.ok(put.stderr.length < 400, `the error quotes a short part of the name, not all of it: ${put.stderr.length} characters`)
})

test('get -o DIR/ (a trailing slash) of a file: inside DIR when it exists, NOT_FOUND when it does not, never a file named DIR', async (t) => {
  const { dataDir } = await node()
  const dir = await tempDir(t)
  await writeFile(join(dir, 'src.txt'), 'into a folder\n')
  assert.equal((await runCli(['put', join(dir, 'src.txt'), '--name', 'edges-slash.txt', '--data', dataDir])).code, 0)
  for (const env of [{}, { DV_GET_STREAM: '1' }]) {
    const get = await runCli(['get', 'edges-slash.txt', '-o', 'missing/', '--data', dataDir], { cwd: dir, env })
    assert.equal(get.code, 1, get.stderr)
    assert.match(get.stderr, /^error: .*missing.* \(NOT_FOUND\)\n$/)
  }
  assert.deepEqual((await readdir(dir)).sort(), ['src.txt'])
  await mkdir(join(dir, 'there'))
  const into = await runCli(['get', 'edges-slash.txt', '-o', 'there/', '--data', dataDir], { cwd: dir })
  assert.equal(into.code, 0, into.stderr)
  assert.equal(await readFile(join(dir, 'there', 'edges-slash.txt'), 'utf8'), 'into a folder\n')
})
