// File history through the CLI: a put of an existing name keeps the older version; `versions`
// lists them, `get --version/--at` restores one (streamed and through the local export), `rm`
// refuses a name with several versions unless --all-versions, and `prune` drops by policy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

interface Version { version: number, id: string, size: number, mtime: string, ctime: string }

test('a name put three times keeps three versions that versions lists and get --version/--at restores byte-identical; rm and prune keep to their rules', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data)
  t.after(async () => { await node.kill() })
  const cli = async (args: string[], input?: Buffer): Promise<Awaited<ReturnType<typeof runCli>>> => await runCli([...args, '--data', data], { input })
  const contents = [randomBytes(200_000), randomBytes(300_000), randomBytes(100)]
  const ids: string[] = []
  for (const content of contents) {
    const put = await cli(['put', '-', '--name', 'notes.txt', '--json'], content)
    assert.equal(put.code, 0, put.stderr)
    ids.push(JSON.parse(put.stdout).id)
  }

  const ls = JSON.parse((await cli(['ls', '--json'])).stdout)
  assert.deepEqual(ls.map((f: { name: string, id: string, versions: number }) => [f.name, f.id, f.versions]), [['notes.txt', ids[2], 3]], 'ls: one row per name, the newest')
  const listed = await cli(['versions', 'notes.txt', '--json'])
  assert.equal(listed.code, 0, listed.stderr)
  const versions = JSON.parse(listed.stdout) as Version[]
  assert.deepEqual(versions.map(v => [v.version, v.id, v.size]), contents.map((c, i) => [i + 1, ids[i], c.length]))
  const text = await cli(['versions', 'notes.txt'])
  assert.match(text.stdout, /^VERSION\s+STORED\s+SIZE/)
  assert.equal(text.stdout.trim().split('\n').length, 4)

  // Every version comes back whole: to stdout, streamed to a file, and through the node's export.
  for (const [i, content] of contents.entries()) {
    const out = await cli(['get', 'notes.txt', '--version', String(i + 1), '-o', '-'])
    assert.equal(out.code, 0, out.stderr)
    assert.equal(sha(out.stdoutBytes), sha(content), `version ${i + 1} to stdout`)
  }
  const exported = join(dir, 'v1.txt')
  assert.equal((await cli(['get', 'notes.txt', '--version', '1', '-o', exported])).code, 0)
  assert.equal(sha(await readFile(exported)), sha(contents[0]))
  const streamed = join(dir, 'v2.txt')
  const viaHttp = await runCli(['get', 'notes.txt', '--version', '2', '-o', streamed, '--data', data], { env: { ...process.env, DV_GET_STREAM: '1' } })
  assert.equal(viaHttp.code, 0, viaHttp.stderr)
  assert.equal(sha(await readFile(streamed)), sha(contents[1]))

  const at = await cli(['get', 'notes.txt', '--at', versions[1].ctime, '-o', '-'])
  assert.equal(sha(at.stdoutBytes), sha(contents[1]), '--at the second version\'s time gives the second version')
  const today = await cli(['get', 'notes.txt', '--at', versions[2].ctime.slice(0, 10), '-o', '-'])
  assert.equal(sha(today.stdoutBytes), sha(contents[2]), 'a date alone means the end of that day')
  const before = await cli(['get', 'notes.txt', '--at', '2001-01-01', '-o', '-'])
  assert.equal(before.code, 1)
  assert.match(before.stderr, /^error: "notes.txt" has no version stored at or before 2001-01-01T23:59:59.999Z.* \(NOT_FOUND\)\n$/)
  const missing = await cli(['get', 'notes.txt', '--version', '9', '-o', '-'])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /"notes.txt" has no version 9: it has 3 .*\(NOT_FOUND\)/)
  // A malformed flag value is bad usage (exit 2), as for every other verb's flags (docs/ERRORS.md).
  for (const bad of [['--version', '0'], ['--version', 'x'], ['--at', 'yesterday'], ['--at', '2026-13-45']]) {
    const refused = await cli(['get', 'notes.txt', ...bad, '-o', '-'])
    assert.equal(refused.code, 2, bad.join(' '))
    assert.match(refused.stderr, /^error: .*(version number|is not a time).* \(BAD_USAGE\)\n$/)
  }
  const both = await cli(['get', 'notes.txt', '--version', '1', '--at', '2026-01-01', '-o', '-'])
  assert.equal(both.code, 2)

  // rm of the name refuses while it has several versions, and removes nothing.
  const refused = await cli(['rm', 'notes.txt'])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /^error: "notes.txt" has 3 versions; nothing was removed\. Remove them all with --all-versions.* \(HAS_VERSIONS\)\n$/)
  assert.equal(JSON.parse((await cli(['versions', 'notes.txt', '--json'])).stdout).length, 3)
  // rm ID removes that one version.
  const one = await cli(['rm', ids[1].slice(0, 12), '--json'])
  assert.equal(one.code, 0, one.stderr)
  assert.deepEqual(JSON.parse((await cli(['versions', 'notes.txt', '--json'])).stdout).map((v: Version) => v.id), [ids[0], ids[2]])
  const gone = await cli(['get', ids[1], '-o', '-'])
  assert.match(gone.stderr, /\(NOT_FOUND\)/)

  // prune: --dry-run says what would go and drops nothing; then it drops it.
  const dry = await cli(['prune', '--keep-last', '1', '--dry-run', '--json'])
  assert.equal(dry.code, 0, dry.stderr)
  const plan = JSON.parse(dry.stdout)
  assert.deepEqual([plan.kept, plan.dropped, plan.bytesFreed], [1, 1, contents[0].length])
  assert.equal(JSON.parse((await cli(['versions', 'notes.txt', '--json'])).stdout).length, 2)
  const noRule = await cli(['prune'])
  assert.equal(noRule.code, 2)
  assert.match(noRule.stderr, /--keep-last N.*\(BAD_USAGE\)/)
  const pruned = await cli(['prune', '--keep-last', '1'])
  assert.equal(pruned.code, 0, pruned.stderr)
  assert.match(pruned.stdout, /^dropped notes\.txt version 1 /)
  assert.deepEqual(JSON.parse((await cli(['versions', 'notes.txt', '--json'])).stdout).map((v: Version) => v.id), [ids[2]])

  // With one version left, rm NAME removes it as before.
  await cli(['put', '-', '--name', 'notes.txt'], contents[0])
  const all = await cli(['rm', 'notes.txt', '--all-versions'])
  assert.equal(all.code, 0, all.stderr)
  assert.match(all.stdout, /^removed notes\.txt \(2 versions\)/)
  assert.deepEqual(JSON.parse((await cli(['ls', '--json'])).stdout), [])
})
