// Preloaded into every test process by test/run.ts (`--import`): keeps node:test's harness from
// enabling its async hook. That hook maps every async resource, every promise included, to the
// test it came from (an init and a destroy callback per promise, and a GC-tracked destroy hook on
// each), only so that an uncaught exception can be reported on the test that caused it. It was
// ~7 % of the test processes' CPU in a profile of the whole suite, the most of any one thing
// (docs/PERFORMANCE.md, "The suite, 2026-12-01"). Without it an uncaught exception or unhandled
// rejection still fails the run, reported on the file instead of the test.
//
// The hook is found by who creates it: async_hooks.createHook called from node:test's harness
// (which takes createHook from the public module when node:test is first imported, after this
// preload). Any other caller, or a Node whose harness does not call it so, is left alone.
// DV_TEST_ASYNC_HOOK=1 keeps the hook (to see which test an uncaught exception came from).
import asyncHooks from 'node:async_hooks'

if (process.env.DV_TEST_ASYNC_HOOK !== '1') {
  const createHook = asyncHooks.createHook
  asyncHooks.createHook = function (callbacks) {
    const hook = createHook(callbacks)
    if (new Error().stack?.includes('internal/test_runner/harness') === true) {
      hook.enable = () => hook
    }
    return hook
  }
}
