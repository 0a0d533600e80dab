// The CLI contract (the shared design, as the README states it), exercised through real processes: init, start, put/get/ls/rm/
// share/status with --json, exit codes and the one error format.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { readFile, stat, symlink, writeFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir, type CliNode } from '../helpers/cli.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

test('init prints a 24-word phrase once and the same phrase recovers the same node ID', async (t) => {
  const dir = await tempDir(t)
  const first = await runCli(['init', '--data', join(dir, 'a'), '--json'])
  assert.equal(first.code, 0, first.stderr)
  const { nodeId, phrase } = JSON.parse(first.stdout)
  assert.match(nodeId, /^12D3KooW/)
  assert.equal(phrase.split(' ').length, 24)
  const mode = (await stat(join(dir, 'a', 'identity.json'))).mode & 0o777
  assert.equal(mode, 0o600)
  assert.match(await readFile(join(dir, 'a', 'network.key'), 'utf8'), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}/)
  assert.ok(!(await readFile(join(dir, 'a', 'identity.json'), 'utf8')).includes(phrase.split(' ')[0] + ' '), 'the phrase is not stored')

  const recovered = await runCli(['init', '--recover', '--data', join(dir, 'b'), '--join', join(dir, 'a', 'network.key'), '--json'], { input: phrase + '\n' })
  assert.equal(recovered.code, 0, recovered.stderr)
  assert.equal(JSON.parse(recovered.stdout).nodeId, nodeId)
  assert.equal(await readFile(join(dir, 'b', 'network.key'), 'utf8'), await readFile(join(dir, 'a', 'network.key'), 'utf8'))

  const again = await runCli(['init', '--data', join(dir, 'a')])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /^error: .* \(ALREADY_EXISTS\)\n$/)
  const badPhrase = await runCli(['init', '--recover', '--data', join(dir, 'c')], { input: 'not a phrase' })
  assert.equal(badPhrase.code, 1)
  assert.match(badPhrase.stderr, /\(BAD_INPUT\)/)
})

test('a user stores, lists, reads, shares and removes files through the CLI', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data)
  t.after(async () => { await node.kill() })
  assert.match(node.api, /^http:\/\/127\.0\.0\.1:\d+$/)
  const apiFile = join(data, 'api.json')
  assert.equal((await stat(apiFile)).mode & 0o777, 0o600)

  const content = randomBytes(3 * 1024 * 1024 + 17)
  await writeFile(join(dir, 'photo.jpg'), content)
  const put = await runCli(['put', join(dir, 'photo.jpg'), '--data', data, '--json'])
  assert.equal(put.code, 0, put.stderr)
  const stored = JSON.parse(put.stdout)
  assert.equal(stored.name, 'photo.jpg')
  assert.equal(stored.size, content.length)
  assert.match(stored.id, /^[0-9a-f]{64}$/)
  assert.equal(typeof stored.replicas, 'number')

  const fromStdin = await runCli(['put', '-', '--name', 'notes/today.txt', '--data', data, '--json'], { input: 'hello from stdin\n' })
  assert.equal(fromStdin.code, 0, fromStdin.stderr)

  const ls = JSON.parse((await runCli(['ls', '--data', data, '--json'])).stdout)
  assert.deepEqual(ls.map((f: { name: string }) => f.name), ['notes/today.txt', 'photo.jpg'])
  for (const f of ls) assert.deepEqual(Object.keys(f).sort(), ['files', 'id', 'kind', 'mtime', 'name', 'replicas', 'size', 'versions'])

  const out = join(dir, 'back.jpg')
  const get = await runCli(['get', 'photo.jpg', '-o', out, '--data', data])
  assert.equal(get.code, 0, get.stderr)
  assert.equal(sha(await readFile(out)), sha(content))
  const byPrefix = await runCli(['get', stored.id.slice(0, 12), '-o', '-', '--data', data])
  assert.equal(sha(byPrefix.stdoutBytes), sha(content))
  const stdinBack = await runCli(['get', 'notes/today.txt', '-o', '-', '--data', data])
  assert.equal(stdinBack.stdout, 'hello from stdin\n')

  // Without -o: ./<name> in the current folder, never overwritten; -o DIR: DIR/<name>.
  const cwd = join(dir, 'downloads')
  await mkdir(cwd)
  assert.equal((await runCli(['get', 'photo.jpg', '--data', data], { cwd })).code, 0)
  assert.equal(sha(await readFile(join(cwd, 'photo.jpg'))), sha(content))
  const again = await runCli(['get', 'photo.jpg', '--data', data], { cwd })
  assert.equal(again.code, 1)
  assert.match(again.stderr, /\(ALREADY_EXISTS\)/)
  const intoDir = join(dir, 'into')
  await mkdir(intoDir)
  assert.equal((await runCli(['get', 'photo.jpg', '-o', intoDir, '--data', data])).code, 0)
  assert.equal(sha(await readFile(join(intoDir, 'photo.jpg'))), sha(content))

  const share = await runCli(['share', 'photo.jpg', '--data', data, '--json'])
  const { capability } = JSON.parse(share.stdout)
  assert.match(capability, /^dv1\.[0-9a-f]{64}\.12D3KooW\w+\.[0-9a-f]{64}$/)
  const viaCap = join(dir, 'cap.jpg')
  const capGet = await runCli(['get', capability, '-o', viaCap, '--data', data])
  assert.equal(capGet.code, 0, capGet.stderr)
  assert.equal(sha(await readFile(viaCap)), sha(content))

  const status = JSON.parse((await runCli(['status', '--data', data, '--json'])).stdout)
  assert.equal(status.nodeId, node.nodeId)
  assert.equal(status.files, 2)
  assert.ok(status.storage[node.nodeId] > content.length)
  for (const key of ['addresses', 'peers', 'underReplicated']) assert.ok(key in status, key)

  const rm = await runCli(['rm', 'photo.jpg', '--data', data, '--json'])
  assert.equal(rm.code, 0, rm.stderr)
  assert.equal(JSON.parse(rm.stdout).id, stored.id)
  const gone = await runCli(['get', 'photo.jpg', '-o', join(dir, 'x'), '--data', data])
  assert.equal(gone.code, 1)
  assert.match(gone.stderr, /^error: .+ \(NOT_FOUND\)\n$/)
  const after = JSON.parse((await runCli(['status', '--data', data, '--json'])).stdout)
  assert.ok(after.storage[node.nodeId] < 1024 * 1024, 'the removed file\'s chunks are reclaimed')

  assert.equal(await node.stop(), 0)
  await assert.rejects(stat(apiFile), { code: 'ENOENT' })
})

/**
 * One node for the folder, Range and /metrics tests, started once (a node process costs seconds of
 * CPU); each test uses names of its own.
 */
let sharedNode: CliNode | undefined
const sharedRoot = await mkdtemp(join(tmpdir(), 'dv-test-'))
before(async () => { sharedNode = await startCliNode(join(sharedRoot, 'node')) })
after(async () => {
  await sharedNode?.kill()
  await rm(sharedRoot, { recursive: true, force: true })
})

test('a folder is stored as one entry under its name, links kept as links', async (t) => {
  const dir = await tempDir(t)
  const node = sharedNode!
  const data = node.dataDir
  await mkdir(join(dir, 'album', 'raw'), { recursive: true })
  await writeFile(join(dir, 'album', 'a.txt'), 'A')
  await writeFile(join(dir, 'album', 'raw', 'b.txt'), 'B')
  await symlink(join(dir, 'album', 'a.txt'), join(dir, 'album', 'link.txt'))
  await symlink(join(dir, 'album', 'raw'), join(dir, 'album', 'raw-link'))
  const put = await runCli(['put', join(dir, 'album'), '--data', data, '--json'])
  assert.equal(put.code, 0, put.stderr)
  const names = put.stdout.trim().split('\n').map(l => JSON.parse(l).name)
  assert.deepEqual(names, ['album'])
  const inside = JSON.parse((await runCli(['ls', 'album', '--json', '--data', data])).stdout) as Array<{ path: string, type: string }>
  assert.deepEqual(inside.map(e => [e.path, e.type]), [['a.txt', 'file'], ['link.txt', 'symlink'], ['raw', 'dir'], ['raw/b.txt', 'file'], ['raw-link', 'symlink']])
  assert.equal((await runCli(['get', 'album', '-o', join(dir, 'back'), '--data', data])).code, 0)
  assert.equal(await readFile(join(dir, 'back', 'raw', 'b.txt'), 'utf8'), 'B')
})

test('errors are one line with a stable code and the right exit status', async (t) => {
  const dir = await tempDir(t)
  const notRunning = await runCli(['ls', '--data', join(dir, 'node')])
  assert.equal(notRunning.code, 1)
  assert.match(notRunning.stderr, /^error: no node is running .* \(NOT_RUNNING\)\n$/)

  // The rest against the file's shared node (its api.json is put back at the end).
  const node = sharedNode!
  const data = node.dataDir
  const missing = await runCli(['put', join(dir, 'nope.bin'), '--data', data])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /^error: no such file or folder: .*nope\.bin \(NOT_FOUND\)\n$/)
  const unknown = await runCli(['get', 'nothing-here', '--data', data])
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /\(NOT_FOUND\)/)
  const usage = await runCli(['put', '--data', data])
  assert.equal(usage.code, 2)
  assert.match(usage.stderr, /^error: .* \(BAD_USAGE\)/)
  const badFlag = await runCli(['ls', '--bogus'])
  assert.equal(badFlag.code, 2)
  assert.match(badFlag.stderr, /^error: unknown option '--bogus' \(BAD_USAGE\)\n$/, 'exactly one line')
  for (const args of [['put', '-', '--name', 'x', '--replicas', '0'], ['start', '--peer', 'garbage'], ['start', '--log-level', 'loud'], []]) {
    const r = await runCli([...args, '--data', join(dir, 'unused')], { input: 'x' })
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
  }
  const trick = await runCli(['put', '-', '--name', '../../etc/passwd', '--data', data], { input: 'x' })
  assert.equal(trick.code, 1)
  assert.match(trick.stderr, /\(BAD_INPUT\)/)
  for (const r of [notRunning, missing, unknown, usage, trick]) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')

  const apiText = await readFile(join(data, 'api.json'), 'utf8')
  const api = JSON.parse(apiText)
  await writeFile(join(data, 'api.json'), JSON.stringify({ ...api, token: 'wrong' }))
  t.after(async () => { await writeFile(join(data, 'api.json'), apiText, { mode: 0o600 }) })
  // A token that is not the node's: the CLI cannot tell that node from another one that took the
  // port of its own killed node, so it sends the token to neither (test/cli/stale-api.test.ts).
  const wrongToken = await runCli(['ls', '--data', data])
  assert.equal(wrongToken.code, 1)
  assert.match(wrongToken.stderr, /is not running: what answers at .* is another program or node .*\(NOT_RUNNING\)\n$/)
  const res = await fetch(`${node.api}/api/files`)
  assert.equal(res.status, 401)
  assert.equal((await res.json()).error.code, 'UNAUTHORIZED')
})

test('the HTTP API honours Range on downloads', async () => {
  const node = sharedNode!
  const data = node.dataDir
  const content = randomBytes(2 * 1024 * 1024 + 5)
  const { token } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
  const auth = { authorization: `Bearer ${token}` }
  const put = await fetch(`${node.api}/api/files?name=r.bin`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: content })
  assert.equal(put.status, 201)
  const part = await fetch(`${node.api}/api/files/r.bin`, { headers: { ...auth, range: 'bytes=1000000-1100000' } })
  assert.equal(part.status, 206)
  assert.equal(part.headers.get('content-range'), `bytes 1000000-1100000/${content.length}`)
  assert.deepEqual(Buffer.from(await part.arrayBuffer()), content.subarray(1000000, 1100001))
  const tail = await fetch(`${node.api}/api/files/r.bin`, { headers: { ...auth, range: 'bytes=-10' } })
  assert.deepEqual(Buffer.from(await tail.arrayBuffer()), content.subarray(content.length - 10))
  const outside = await fetch(`${node.api}/api/files/r.bin`, { headers: { ...auth, range: `bytes=${content.length}-` } })
  assert.equal(outside.status, 416)
})

test('/metrics serves Prometheus text with the node\'s counts, without a token', async () => {
  const node = sharedNode!
  const data = node.dataDir
  assert.equal((await runCli(['put', '-', '--name', 'm.txt', '--data', data], { input: 'metrics' })).code, 0)
  const res = await fetch(`${node.api}/metrics`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
  const text = await res.text()
  const { files } = JSON.parse((await runCli(['status', '--json', '--data', data])).stdout) as { files: number }
  assert.ok(files >= 1)
  assert.match(text, new RegExp(`^distri_vault_files ${files}$`, 'm'), 'the count `status` gives (the node is shared with other tests)')
  assert.match(text, /^distri_vault_peers\{state="connected"\} 0$/m)
  assert.match(text, /^distri_vault_stored_bytes\{folder="own"\} [1-9]\d*$/m)
  assert.match(text, /^distri_vault_stored_bytes\{folder="others"\} \d+$/m)
  assert.ok(!text.includes(node.nodeId), 'no node ID on the route that needs no token')
  assert.match(text, /^distri_vault_process_resident_memory_bytes \d+/m)
})
