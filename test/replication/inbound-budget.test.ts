// A member that opens PUT streams and withholds their last byte pins at most its share of the
// holder's inbound budget: past it the holder answers BUSY, honest owners still put, and every
// reservation comes back when the streams are reset or time out.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { VaultError } from '../../src/errors.ts'
import { ByteBudget, FrameStream } from '../../src/protocols/index.ts'
import { BLOCK_PROTOCOL, MAX_BLOB_BYTES } from '../../src/replication/index.ts'
import { waitFor } from '../net/helpers.ts'
import { makeBlob, startCluster, type Cluster, type TestNode } from './helpers.ts'

const MiB = 1024 * 1024
const BODY = MiB

/** A PUT whose body stops one byte short: the holder waits for the rest. */
async function withheldPut (from: TestNode, to: TestNode): Promise<FrameStream> {
  const blob = makeBlob(BODY)
  const stream = await from.libp2p.dialProtocol(peerIdFromString(to.id), BLOCK_PROTOCOL)
  const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
  await frames.writeJson({ op: 'put', owner: from.id, id: blob.id, size: BODY })
  const header = new Uint8Array(4)
  new DataView(header.buffer).setUint32(0, BODY)
  stream.send(header)
  stream.send(blob.data.subarray(0, BODY - 1))
  return frames
}

describe('a holder bounds the memory that PUT bodies take, per peer and in all', () => {
  let cluster: Cluster
  let holder: TestNode, hostile: TestNode, second: TestNode, honest: TestNode
  const budget = new ByteBudget({ perPeerBytes: 3 * BODY, totalBytes: 7 * BODY })

  before(async () => {
    cluster = await startCluster(4, { node: i => i === 0 ? { inboundBudget: budget, requestTimeoutMs: 4_000 } : {} })
    ;[holder, hostile, second, honest] = cluster.nodes
  })
  after(async () => { await cluster?.stop() })

  test('withheld PUTs pin only their share; then BUSY; honest puts go on; all is released after reset or timeout', async () => {
    const pinned: FrameStream[] = []
    for (let i = 0; i < 3; i++) pinned.push(await withheldPut(hostile, holder))
    await waitFor('the hostile member to reserve its share', () => budget.reservedBytes(hostile.id) === 3 * BODY)

    // Its share is used up: a further PUT, even a complete one, is refused with BUSY.
    const extra = makeBlob(BODY)
    const refused = await hostile.client.putBlob(holder.id, hostile.id, extra.id, extra.data).then(() => undefined, (err: unknown) => err)
    assert.ok(refused instanceof VaultError && refused.code === 'BUSY', `expected BUSY, got ${String(refused)}`)
    // More withheld streams from it never reserve anything more.
    for (let i = 0; i < 3; i++) pinned.push(await withheldPut(hostile, holder))

    // A second member pins its own share; the total has room for one more honest body.
    const timedOut: FrameStream[] = []
    for (let i = 0; i < 3; i++) timedOut.push(await withheldPut(second, holder))
    await waitFor('the second member to reserve its share', () => budget.reservedBytes(second.id) === 3 * BODY)
    assert.equal(budget.reservedBytes(), 6 * BODY)

    const blob = makeBlob(BODY)
    await honest.client.putBlob(holder.id, honest.id, blob.id, blob.data)
    assert.ok((await readFile(holder.store.pathOf(honest.id, blob.id))).equals(blob.data))
    assert.equal(budget.reservedBytes(honest.id), 0, 'the honest PUT gave its reservation back')

    // The first member resets its streams; the second's time out on the holder (4 s).
    for (const frames of pinned) frames.abort(new Error('hostile member gives up'))
    await waitFor('the reset streams to release their reservations', () => budget.reservedBytes(hostile.id) === 0)
    await waitFor('the timed-out streams to release theirs', () => budget.reservedBytes() === 0, { timeoutMs: 15_000 })
    assert.equal(holder.store.usage()[hostile.id] ?? 0, 0, 'nothing of the withheld PUTs was stored')
    assert.ok(budget.refusals >= 1)
    for (const frames of timedOut) frames.abort(new Error('done'))
  })
})

test('a byte budget refuses past a peer\'s share or the total, and releases once per reservation', () => {
  const budget = new ByteBudget({ perPeerBytes: 10, totalBytes: 15 })
  const a = budget.tryReserve('a', 10)
  assert.ok(a !== undefined)
  assert.equal(budget.tryReserve('a', 1), undefined, 'past a\'s share')
  const b = budget.tryReserve('b', 5)
  assert.ok(b !== undefined)
  assert.equal(budget.tryReserve('c', 1), undefined, 'past the total')
  a.release()
  a.release()
  assert.equal(budget.reservedBytes(), 5)
  assert.equal(budget.reservedBytes('a'), 0)
  assert.ok(budget.tryReserve('c', 10) !== undefined)
  assert.equal(budget.refusals, 2)
})
