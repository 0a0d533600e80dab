// The copy target has one home: parsed, checked, stored and answered the same way everywhere.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseReplicaTarget, replicaTargetOf, replication, storedTarget, targetFromStored, widestTarget } from '../../src/redundancy/index.ts'
import { VaultError } from '../../src/errors.ts'

test('--replicas takes a number from 1 to 64 or "all"; anything else is a usage error', () => {
  assert.equal(parseReplicaTarget('3'), 3)
  assert.equal(parseReplicaTarget('03'), 3, 'the CLI and the API read the same text the same way')
  assert.equal(parseReplicaTarget('64'), 64)
  assert.equal(parseReplicaTarget('all'), 'all')
  for (const bad of ['0', '65', '-1', '2.5', 'ALL', '', ' 3', '1e2']) {
    assert.equal(replicaTargetOf(bad), undefined, bad)
    assert.throws(() => parseReplicaTarget(bad), (err: unknown) => err instanceof VaultError && err.code === 'BAD_USAGE', bad)
  }
})

test('"all" is stored as 0 and comes back as "all"; the widest target wins', () => {
  assert.equal(storedTarget('all'), 0)
  assert.equal(storedTarget(5), 5)
  assert.equal(targetFromStored(0), 'all')
  assert.equal(targetFromStored(2), 2)
  assert.equal(widestTarget(2, 'all'), 'all')
  assert.equal(widestTarget(2, 3), 3)
})

test('copies wanted and durability: "all" means every reachable peer plus the owner', () => {
  assert.equal(replication.copiesWanted(3, 10), 3)
  assert.equal(replication.copiesWanted('all', 4), 5)
  assert.equal(replication.holdersWanted('all', 4), 4)
  assert.equal(replication.copiesWanted('all', 0), 1, 'alone, the owner\'s copy is all there is')
  assert.equal(replication.isDurable(3, 3, 1), true)
  assert.equal(replication.isDurable(2, 3, 10), false)
  assert.equal(replication.isDurable(4, 'all', 4), false)
})
