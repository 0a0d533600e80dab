// Preloaded into every test process by test/run.ts (`--import`): narrows node:test's harness
// async hook to the tests themselves. The harness maps every async resource, every promise
// included, to the test it came from (an init and a GC-tracked destroy callback per promise), so
// that an uncaught exception is reported on the test that caused it. That was ~7 % of the test
// processes' CPU in a profile of the whole suite, the most of any one thing (docs/PERFORMANCE.md,
// "The suite, 2026-12-01").
//
// Narrowed, the hook still sees each test and suite as it is made (async type 'Test'): a test(),
// before() or after() called in a describe() callback, which node:test runs in the suite's async
// scope, finds its suite. Not mapped any more: the promises, timers and sockets a test starts, and
// nothing is tracked to its destroy. So an error thrown from those after its test ended fails the
// file (and the run), with its message and stack, instead of the test; and a global test() called
// from inside a running test (rather than t.test()) would land at the top level.
// DV_TEST_ASYNC_HOOK=1 keeps the whole hook (to see which test an uncaught exception came from).
//
// The hook is found by who creates it: async_hooks.createHook called from node:test's harness
// (which takes createHook from the public module when node:test is first imported, after this
// preload). Any other caller is left alone.
import asyncHooks, { type HookCallbacks } from 'node:async_hooks'

if (process.env.DV_TEST_ASYNC_HOOK !== '1') {
  const createHook = asyncHooks.createHook
  asyncHooks.createHook = function (callbacks: HookCallbacks) {
    const init = callbacks.init
    if (init === undefined || new Error().stack?.includes('internal/test_runner/harness') !== true) return createHook(callbacks)
    return createHook({
      init (asyncId, type, triggerAsyncId, resource) {
        if (type === 'Test') init(asyncId, type, triggerAsyncId, resource)
      }
    })
  }
}
