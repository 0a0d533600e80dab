// The holder's limits as a user sets them: `start` flags, checked before anything starts, and the
// values the node runs with (its "holder limits" log line).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir, waitFor } from '../helpers/cli.ts'

test('start takes --max-per-owner, --inbound-buffer(-per-peer), --msg-burst and --msg-rate, and refuses bad values as usage errors', async (t) => {
  const dir = await tempDir(t)
  for (const bad of [['--max-per-owner', 'lots'], ['--inbound-buffer', '12 parsecs'], ['--msg-burst', '2.5'], ['--msg-rate', '0']]) {
    const result = await runCli(['start', '--data', join(dir, 'never'), ...bad])
    assert.equal(result.code, 2, `${bad.join(' ')}: ${result.stderr}`)
    assert.match(result.stderr, /^error: .*\(BAD_USAGE\)/m)
  }

  const node = await startCliNode(join(dir, 'n'), ['--max-storage', '1MB', '--max-per-owner', '1000', '--inbound-buffer', '8MiB', '--inbound-buffer-per-peer', '5MiB', '--msg-burst', '7', '--msg-rate', '2'])
  t.after(async () => { await node.kill() })
  const line = await waitFor('the holder limits in the log', () => node.stderr().split('\n').find(l => l.includes('holder limits')))
  const limits = JSON.parse(line) as Record<string, number>
  assert.deepEqual(
    [limits.maxStorageBytes, limits.maxPerOwnerBytes, limits.inboundBufferBytes, limits.inboundBufferPerPeerBytes],
    [1_000_000, 1000, 8 * 2 ** 20, 5 * 2 ** 20])
  assert.equal(await node.stop(), 0)
})
