// The suite's runner (test/run.ts) itself: with node:test's async hook narrowed to the tests in
// the test processes (helpers/harness-hook.ts), an error thrown after a test ended still fails
// the run, and a describe() keeps its hooks and tests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'

async function runner (fixture: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null, out: string }> {
  // Without NODE_TEST_CONTEXT (set in this test process), or run() would refuse to run recursively.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env
  const child = spawn(process.execPath, ['test/run.ts', `test/fixtures/runner/${fixture}.fixture.ts`], { env: { ...outer, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  return { code, out }
}

test('an exception thrown after a test passed fails the run, with the async hook narrowed (the default) and whole', async () => {
  const off = await runner('uncaught', { DV_TEST_ASYNC_HOOK: '' })
  assert.equal(off.code, 1, off.out)
  assert.match(off.out, /thrown by a leftover timer/)
  // Narrowed, the harness cannot tell which test the timer came from: the test passed, the file failed.
  assert.match(off.out, /✔ passes, but leaves a timer that throws/, 'the harness hook was narrowed')
  const on = await runner('uncaught', { DV_TEST_ASYNC_HOOK: '1' })
  assert.equal(on.code, 1, on.out)
  assert.match(on.out, /✖ passes, but leaves a timer that throws/, 'with DV_TEST_ASYNC_HOOK=1 the test itself fails')
})

test('with the async hook narrowed, a describe() keeps its before hook and its test inside it', async () => {
  const { code, out } = await runner('suite', { DV_TEST_ASYNC_HOOK: '' })
  assert.equal(code, 0, out)
  assert.match(out, /▶ a suite\n {2}✔ sees its before hook/)
  assert.match(out, /ℹ suites 1\n/)
})
