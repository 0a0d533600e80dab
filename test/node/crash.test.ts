// A node killed with SIGKILL in the middle of a put, or one whose catalog is lost, comes back
// consistent: earlier files intact, no half file listed, no orphaned blob or temp file left.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { randomBytes, createHash } from 'node:crypto'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir, waitFor } from '../helpers/cli.ts'

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function countFiles (dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])
  return entries.filter(e => e.isFile()).length
}

test('a put killed with SIGKILL leaves the data dir consistent, and the same put then succeeds', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  let node = await startCliNode(data)
  t.after(async () => { await node.kill() })
  const earlier = randomBytes(2 * 1024 * 1024)
  await writeFile(join(dir, 'earlier.bin'), earlier)
  assert.equal((await runCli(['put', join(dir, 'earlier.bin'), '--data', data])).code, 0)
  const ownFolder = join(data, 'storage', node.nodeId)
  const blobsBefore = await countFiles(ownFolder)

  // Stream a big upload slowly, and kill the node once some of its chunks are on disk.
  const { token } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
  const upload = request(`${node.api}/api/files?name=big.bin`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } })
  upload.on('error', () => {})
  // The request never ends, so the put cannot complete whatever its size: 16 MiB is 4 chunks at
  // the 4 MiB maximum, so at least 3 are cut and written before the last byte is sent.
  const big = randomBytes(16 * 1024 * 1024)
  let sent = 0
  const pump = setInterval(() => {
    if (sent < big.length) { upload.write(big.subarray(sent, sent + 1024 * 1024)); sent += 1024 * 1024 }
  }, 5)
  t.after(() => clearInterval(pump))
  await waitFor('chunks of the big put on disk', async () => await countFiles(ownFolder) >= blobsBefore + 3, { timeoutMs: 30_000 })
  await node.kill()
  clearInterval(pump)
  upload.destroy()

  node = await startCliNode(data)
  const ls = JSON.parse((await runCli(['ls', '--data', data, '--json'])).stdout)
  assert.deepEqual(ls.map((f: { name: string }) => f.name), ['earlier.bin'], 'no half file is listed')
  const back = await runCli(['get', 'earlier.bin', '-o', '-', '--data', data])
  assert.equal(sha(back.stdoutBytes), sha(earlier))
  assert.equal(await countFiles(ownFolder), blobsBefore, 'the killed put\'s chunks are cleaned up')
  assert.equal(await countFiles(join(data, 'storage', '.tmp')), 0, 'no temp file is left')

  await writeFile(join(dir, 'big.bin'), big)
  const again = await runCli(['put', join(dir, 'big.bin'), '--data', data, '--json'])
  assert.equal(again.code, 0, again.stderr)
  assert.equal(sha((await runCli(['get', 'big.bin', '-o', '-', '--data', data])).stdoutBytes), sha(big))
})

test('a lost catalog.db is rebuilt from the sealed manifests alone', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  let node = await startCliNode(data)
  t.after(async () => { await node.kill() })
  const files = { 'a.txt': randomBytes(1000), 'docs/b.bin': randomBytes(1_500_000), 'c.txt': Buffer.from('c') }
  for (const [name, bytes] of Object.entries(files)) {
    assert.equal((await runCli(['put', '-', '--name', name, '--data', data], { input: bytes })).code, 0)
  }
  const before = JSON.parse((await runCli(['ls', '--data', data, '--json'])).stdout)
  assert.equal(await node.stop(), 0)
  for (const suffix of ['', '-wal', '-shm']) await rm(join(data, `catalog.db${suffix}`), { force: true })

  node = await startCliNode(data)
  const after = JSON.parse((await runCli(['ls', '--data', data, '--json'])).stdout)
  const key = (f: { id: string, name: string, size: number }): string => `${f.name} ${f.id} ${f.size}`
  assert.deepEqual(after.map(key), before.map(key))
  for (const [name, bytes] of Object.entries(files)) {
    assert.equal(sha((await runCli(['get', name, '-o', '-', '--data', data])).stdoutBytes), sha(bytes), name)
  }
})

test('an upload cut off mid-way stores nothing, leaves no blob behind, and the node keeps serving', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data)
  t.after(async () => { await node.kill() })
  const ownFolder = join(data, 'storage', node.nodeId)
  const { token } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
  const upload = request(`${node.api}/api/files?name=cut.bin`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': 20 * 1024 * 1024 }
  })
  upload.on('error', () => {})
  const before = await countFiles(ownFolder) // the journal's first checkpoint
  upload.write(randomBytes(6 * 1024 * 1024))
  await waitFor('some chunks of the cut upload on disk', async () => await countFiles(ownFolder) >= before + 2, { timeoutMs: 15_000 })
  upload.destroy()
  await waitFor('the cut upload to be cleaned up', async () => await countFiles(ownFolder) === before, { timeoutMs: 15_000 })
  const ls = await runCli(['ls', '--data', data, '--json'])
  assert.deepEqual(JSON.parse(ls.stdout), [])
  assert.equal((await runCli(['put', '-', '--name', 'after.txt', '--data', data], { input: 'still here' })).code, 0)
  assert.equal((await runCli(['get', 'after.txt', '-o', '-', '--data', data])).stdout, 'still here')
})

test('a damaged catalog.db stops the start with a clear CORRUPT error, and moving it away brings every file back', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  let node = await startCliNode(data)
  t.after(async () => { await node.kill() })
  assert.equal((await runCli(['put', '-', '--name', 'keep.txt', '--data', data], { input: 'precious' })).code, 0)
  assert.equal(await node.stop(), 0)
  for (const suffix of ['-wal', '-shm']) await rm(join(data, `catalog.db${suffix}`), { force: true })
  await writeFile(join(data, 'catalog.db'), 'this is not a database at all, not even close')
  const refused = await runCli(['start', '--data', data, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0'])
  assert.equal(refused.code, 1)
  assert.match(refused.stderr, /^error: .*catalog\.db cannot be opened.*rebuilt from the sealed manifests \(CORRUPT\)$/m)
  await rm(join(data, 'catalog.db'))
  node = await startCliNode(data)
  assert.equal((await runCli(['get', 'keep.txt', '-o', '-', '--data', data])).stdout, 'precious')
})
