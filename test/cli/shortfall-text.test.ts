// The words of put's under-replication warning for each mix of reasons the node can report.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { describeShortfall, underReplicatedWarning } from '../../src/cli/shortfall-text.ts'
import { ShortfallTally } from '../../src/files/shortfall.ts'

test('refusals are named by what the holders answered, failures apart, and missing peers last', () => {
  assert.equal(describeShortfall({ reasons: { DISK_FULL: 2 } }).why, '2 holders refused: disk full')
  assert.equal(describeShortfall({ reasons: { DISK_FULL: 1, STORAGE_FULL: 2 } }).why, '3 holders refused: 1 disk full, 2 storage limit reached')
  assert.equal(describeShortfall({ reasons: { BUSY: 1, TIMEOUT: 1, NO_PEERS: 1 } }).why, '1 holder refused: busy; 1 holder failed: timed out; not enough peers')
  assert.equal(describeShortfall({ reasons: { NO_PEERS: 2 } }).why, 'not enough peers')
  // An older node (no shortfall) or nothing usable: the old words.
  assert.equal(describeShortfall(undefined).why, 'not enough peers')
  assert.equal(describeShortfall({ reasons: { 'bad\u001b[2J': 3 } }).why, 'not enough peers')
  assert.equal(underReplicatedWarning('x', 1, 3, { reasons: { DISK_FULL: 2 } }),
    'warning: x is under-replicated: 1 of 3 copies (2 holders refused: disk full); the missing copies are made as soon as peers can take them\n')
})

test('a put counts each refusing holder once across its blobs, and the most copies one blob lacked for want of peers', () => {
  const tally = new ShortfallTally()
  tally.add({ refused: [{ peer: 'b', code: 'DISK_FULL' }, { peer: 'c', code: 'BUSY' }], noPeers: 0 })
  tally.add({ refused: [{ peer: 'b', code: 'DISK_FULL' }], noPeers: 1 })
  tally.add(undefined)
  assert.deepEqual(tally.result(1), { reasons: { BUSY: 1, DISK_FULL: 1, NO_PEERS: 1 } })
  // Short without any report (a holder recorded earlier was forgotten since): put down to peers.
  assert.deepEqual(new ShortfallTally().result(2), { reasons: { NO_PEERS: 2 } })
})
