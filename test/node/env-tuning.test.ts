// DV_TUNING, the test knob of `start` (faster product timers for node processes): unset means the
// product defaults; a value is checked at the edge, and anything off is a usage error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
// The module under test, not node/index.ts (the whole node: libp2p, fastify, ~1.4 CPU-s to load).
import { tuningFromEnv } from '../../src/node/env-tuning.ts'

test('DV_TUNING: unset or empty changes nothing, known timers are taken, anything else is BAD_USAGE', () => {
  assert.deepEqual(tuningFromEnv({}), {})
  assert.deepEqual(tuningFromEnv({ DV_TUNING: '' }), {})
  assert.deepEqual(tuningFromEnv({ DV_TUNING: '{"blockTimeoutMs":5000,"repairEveryMs":2000}' }), { blockTimeoutMs: 5000, repairEveryMs: 2000 })
  for (const bad of ['not json', '[]', '{"blockTimeoutMs":0}', '{"blockTimeoutMs":"5000"}', '{"blockTimeoutMs":1.5}', '{"serveFault":{}}', '{"repairEveryMs":1e12}']) {
    assert.throws(() => tuningFromEnv({ DV_TUNING: bad }), { code: 'BAD_USAGE' }, bad)
  }
})
