// Folders as one entry, through the CLI with the node as a separate process: put DIR stores the
// whole tree (names of any kind, bytes, modes, mtimes, empty folders, links as links), get -o DIR
// restores it exactly, ls lists it, a share restores on another node, and a put that cannot store
// everything stores nothing and says every reason at once.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { joinCliNode, runCli, startCliNode, tempDir, waitForCliPeers, type CliNode } from '../helpers/cli.ts'
import { listFiles } from '../helpers/fs.ts'

interface Snap { path: string, type: string, mode: number, mtime: number, bytes?: string, target?: string }

/** Everything a restore must keep, of every entry under `root` (the root's own mode and mtime too). */
async function snapshot (root: string, rel = ''): Promise<Snap[]> {
  const out: Snap[] = []
  const here = join(root, rel)
  const info = await lstat(here)
  const base = { path: rel, mode: info.mode & 0o7777, mtime: Math.floor(info.mtimeMs) }
  if (info.isSymbolicLink()) return [{ ...base, type: 'symlink', mode: 0, target: await readlink(here) }]
  if (info.isFile()) return [{ ...base, type: 'file', bytes: (await readFile(here)).toString('base64') }]
  const names = (await readdir(here)).sort()
  const children: Snap[] = []
  for (const name of names) children.push(...await snapshot(root, rel === '' ? name : `${rel}/${name}`))
  out.push({ ...base, type: 'dir' }, ...children)
  return out
}

/** A tree with the names and kinds a folder put must keep. */
async function makeTree (root: string): Promise<void> {
  await mkdir(join(root, 'sub dir/deeper'), { recursive: true })
  await mkdir(join(root, 'empty'))
  await mkdir(join(root, 'back'))
  await writeFile(join(root, 'back/slash.txt'), 'forward')
  await writeFile(join(root, 'back\\slash.txt'), 'backward')
  await writeFile(join(root, '.hidden'), 'dot file')
  await writeFile(join(root, 'ünïcødé ✓ 名前.txt'), 'unicode')
  await writeFile(join(root, `${'long'.repeat(60)}.txt`), 'long name')
  await writeFile(join(root, 'sub dir/deeper/big.bin'), randomBytes(3 * 1024 * 1024 + 17))
  await writeFile(join(root, 'sub dir/script.sh'), '#!/bin/sh\necho hi\n')
  await chmod(join(root, 'sub dir/script.sh'), 0o750)
  await writeFile(join(root, 'sub dir/zero'), '')
  await symlink('../.hidden', join(root, 'sub dir/link-in'))
  await symlink('/etc/passwd', join(root, 'link-out'))
  await utimes(join(root, 'sub dir/deeper/big.bin'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'))
  await utimes(join(root, 'empty'), new Date('2002-01-01T00:00:00Z'), new Date('2002-01-01T00:00:00Z'))
  await chmod(join(root, 'empty'), 0o755)
}

/**
 * One node (one copy per file by default) for every test, started once (a node process costs
 * seconds of CPU); the last one joins a second node to it.
 */
let sharedNode: CliNode | undefined
let shared: string | undefined
const sharedRoot = await mkdtemp(join(tmpdir(), 'dv-test-'))
before(async () => {
  sharedNode = await startCliNode(join(sharedRoot, 'node'), ['--replicas', '1'])
  shared = sharedNode.dataDir
})
after(async () => {
  await sharedNode?.kill()
  await rm(sharedRoot, { recursive: true, force: true })
})

type Row = { name: string, kind: string, files: number, size: number }
const ls = async (data: string): Promise<Row[]> => JSON.parse((await runCli(['ls', '--json', '--data', data])).stdout) as Row[]

test('put DIR stores one entry; get -o DIR restores names, bytes, modes, mtimes, empty folders and links exactly; ls lists it', async (t) => {
  const dir = await tempDir(t)
  const data = shared!
  const src = join(dir, 'photos')
  await makeTree(src)

  const rowsBefore = (await ls(data)).map(r => r.name)
  const put = await runCli(['put', src, '--json', '--data', data])
  assert.equal(put.code, 0, put.stderr)
  const stored = JSON.parse(put.stdout)
  assert.equal(stored.name, 'photos')
  assert.equal(stored.kind, 'tree')
  assert.equal(stored.files, 8)

  const listed = (await ls(data)).filter(r => !rowsBefore.includes(r.name))
  assert.equal(listed.length, 1, 'the folder is one row')
  assert.equal(listed[0].kind, 'tree')
  assert.equal(listed[0].files, 8)
  assert.equal(listed[0].size, 3 * 1024 * 1024 + 17 + 'forward'.length + 'backward'.length + 'dot file'.length + 'unicode'.length + 'long name'.length + '#!/bin/sh\necho hi\n'.length)

  const inside = await runCli(['ls', 'photos', '--json', '--data', data])
  assert.equal(inside.code, 0, inside.stderr)
  const entries = JSON.parse(inside.stdout) as Array<{ path: string, type: string }>
  assert.ok(entries.some(e => e.path === 'empty' && e.type === 'dir'))
  assert.ok(entries.some(e => e.path === 'back\\slash.txt' && e.type === 'file'))
  assert.ok(entries.some(e => e.path === 'link-out' && e.type === 'symlink'))
  const text = await runCli(['ls', 'photos', '--data', data])
  assert.match(text.stdout, /sub dir\/deeper\/big\.bin\s+file\s+3\.0 MiB/)

  const out = join(dir, 'restored')
  const got = await runCli(['get', 'photos', '-o', out, '--data', data])
  assert.equal(got.code, 0, got.stderr)
  assert.deepEqual(await snapshot(out), await snapshot(src))
  assert.equal(await readlink(join(out, 'link-out')), '/etc/passwd', 'a link is restored as a link, not followed')

  // Into an existing folder: inside it (as cp -r); a second time there: refused, the first untouched.
  await mkdir(join(dir, 'into'))
  assert.equal((await runCli(['get', 'photos', '-o', join(dir, 'into'), '--data', data])).code, 0)
  assert.deepEqual(await snapshot(join(dir, 'into/photos')), await snapshot(src))
  const again = await runCli(['get', 'photos', '-o', join(dir, 'into'), '--data', data])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /already exists.*\(ALREADY_EXISTS\)/)
  assert.deepEqual(await snapshot(join(dir, 'into/photos')), await snapshot(src))
  // Without -o: ./<name>; with -o -: refused (a folder is no byte stream).
  const cwd = join(dir, 'cwd')
  await mkdir(cwd)
  assert.equal((await runCli(['get', 'photos', '--data', data], { cwd })).code, 0)
  assert.deepEqual(await snapshot(join(cwd, 'photos')), await snapshot(src))
  const stdout = await runCli(['get', 'photos', '-o', '-', '--data', data])
  assert.equal(stdout.code, 1)
  assert.match(stdout.stderr, /is a folder.*\(BAD_INPUT\)/)
  assert.deepEqual((await readdir(dir)).filter(n => n.endsWith('.part')), [], 'no temp folder left')
})

test('a put with inputs that collide or cannot be stored stores nothing and reports every problem, one line each', async (t) => {
  const dir = await tempDir(t)
  const data = shared!
  await mkdir(join(dir, 'x1'))
  await mkdir(join(dir, 'x2'))
  await writeFile(join(dir, 'x1/same.txt'), 'one')
  await writeFile(join(dir, 'x2/same.txt'), 'two')
  await writeFile(join(dir, 'fine.txt'), 'fine')
  const tree = join(dir, 'tree')
  await mkdir(join(tree, 'a'), { recursive: true })
  await writeFile(join(tree, 'a/ok.txt'), 'ok')
  // A name that is not UTF-8, and a FIFO: neither can be stored.
  await writeFile(Buffer.from(join(tree, 'a/bad-\xff.txt'), 'latin1'), 'bad')
  execFileSync('mkfifo', [join(tree, 'pipe')])

  const blobsBefore = await listFiles(join(data, 'storage'))
  const rowsBefore = await ls(data)
  const res = await runCli(['put', join(dir, 'fine.txt'), join(dir, 'x1/same.txt'), join(dir, 'x2/same.txt'), tree, join(dir, 'missing.txt'), '--data', data])
  assert.equal(res.code, 1)
  const lines = res.stderr.trim().split('\n')
  assert.ok(lines.every(l => /^error: .* \(BAD_INPUT\)$/.test(l)), res.stderr)
  assert.ok(lines.some(l => l.includes('would both be stored as "same.txt"')), res.stderr)
  assert.ok(lines.some(l => /not valid UTF-8/.test(l)), res.stderr)
  assert.ok(lines.some(l => /FIFO/.test(l)), res.stderr)
  assert.ok(lines.some(l => /no such file or folder: .*missing\.txt/.test(l)), res.stderr)
  assert.equal(res.stdout, '', 'no ID printed')
  assert.deepEqual(await ls(data), rowsBefore, 'nothing was stored, not even fine.txt')
  assert.deepEqual(await listFiles(join(data, 'storage')), blobsBefore, 'no blob was written')
})

test('share of a folder: get CAP -o DIR restores it on another node', async (t) => {
  const dir = await tempDir(t)
  const a = sharedNode!
  const b = await joinCliNode(join(dir, 'b'), a)
  t.after(async () => { await b.kill() })
  const src = join(dir, 'docs')
  await makeTree(src)
  // Two copies, as a node started with --replicas 2 would make: one of them on b.
  await waitForCliPeers([a, b], 1)
  const put = await runCli(['put', src, '--replicas', '2', '--data', a.dataDir])
  assert.equal(put.code, 0, put.stderr)
  const cap = (await runCli(['share', 'docs', '--data', a.dataDir])).stdout.trim()
  const out = join(dir, 'on-b')
  const got = await runCli(['get', cap, '-o', out, '--data', b.dataDir])
  assert.equal(got.code, 0, got.stderr)
  assert.deepEqual(await snapshot(out), await snapshot(src))
  const listed = await runCli(['ls', cap, '--json', '--data', b.dataDir])
  assert.equal(listed.code, 0, listed.stderr)
  assert.ok((JSON.parse(listed.stdout) as Array<{ path: string }>).some(e => e.path === 'sub dir/deeper/big.bin'))
  assert.equal((await stat(join(out, 'sub dir/script.sh'))).mode & 0o777, 0o750)
})
