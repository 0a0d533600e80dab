// The suite's runner (test/run.ts) itself: with node:test's async hook kept off in the test
// processes (helpers/harness-hook.ts), an error thrown after a test ended still fails the run.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'

const FIXTURE = 'test/fixtures/runner/uncaught.fixture.ts'

async function runner (env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null, out: string }> {
  // Without NODE_TEST_CONTEXT (set in this test process), or run() would refuse to run recursively.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env
  const child = spawn(process.execPath, ['test/run.ts', FIXTURE], { env: { ...outer, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, out }
}

test('an exception thrown after a test passed fails the run, with the async hook off (the default) and on', async () => {
  const off = await runner()
  assert.equal(off.code, 1, off.out)
  assert.match(off.out, /thrown by a leftover timer/)
  // Off, the harness cannot tell which test the timer came from: the test passed, the file failed.
  assert.match(off.out, /✔ passes, but leaves a timer that throws/, 'the harness hook was off')
  const on = await runner({ DV_TEST_ASYNC_HOOK: '1' })
  assert.equal(on.code, 1, on.out)
  assert.match(on.out, /✖ passes, but leaves a timer that throws/, 'with DV_TEST_ASYNC_HOOK=1 the test itself fails')
})
