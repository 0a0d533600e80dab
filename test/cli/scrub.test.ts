// `scrub` and `status` through the CLI, as separate processes: the --json summary and the status field.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'
import { flipByte, listFiles } from '../helpers/fs.ts'

test('scrub --json verifies every local chunk, reports what it could not heal, and status shows the last scrub', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data, ['--audit-every', '60', '--scrub-every', '0'])
  t.after(async () => { await node.kill() })
  const before = JSON.parse((await runCli(['status', '--data', data, '--json'])).stdout)
  assert.equal(before.scrub, null, 'no scrub has run yet')

  await writeFile(join(dir, 'f.bin'), randomBytes(600_000))
  const put = await runCli(['put', join(dir, 'f.bin'), '--data', data, '--json'])
  assert.equal(put.code, 0, put.stderr)
  const clean = await runCli(['scrub', '--data', data, '--json'])
  assert.equal(clean.code, 0, clean.stderr)
  const summary = JSON.parse(clean.stdout)
  assert.deepEqual(Object.keys(summary).sort(), ['bad', 'bytes', 'checked', 'failed', 'repaired', 'reported'])
  assert.ok(summary.checked >= 2, 'the chunk and the manifest')
  assert.ok(summary.bytes > 600_000)
  assert.equal(summary.bad, 0)

  // Damage one blob: alone in the network, the node finds it and says it could not heal it.
  const blobs = await listFiles(join(data, 'storage', node.nodeId))
  await flipByte(blobs[0], 3)
  const damaged = await runCli(['scrub', '--data', data, '--json'])
  assert.equal(damaged.code, 0, damaged.stderr)
  assert.deepEqual(JSON.parse(damaged.stdout), { ...summary, bad: 1, failed: 1 })
  assert.match(damaged.stderr, /could not be fetched from any holder/)
  const status = JSON.parse((await runCli(['status', '--data', data, '--json'])).stdout)
  assert.equal(status.scrub.checked, summary.checked)
  assert.equal(status.scrub.bad, 1)
  assert.equal(status.scrub.repaired, 0)
  assert.match(status.scrub.at, /^\d{4}-\d\d-\d\dT/)

  const bad = await runCli(['start', '--data', join(dir, 'other'), '--audit-every', 'soon'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--audit-every must be a number of seconds.*\(BAD_USAGE\)/)
})
