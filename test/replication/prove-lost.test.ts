// The audit ops of /distri-vault/block/1 between real nodes: PROVE (owner → holder) answers a
// keyed hash over the bytes on disk now, LOST (holder → owner) reaches only the owner.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { VaultError } from '../../src/errors.ts'
import { newAuditNonce, proofOf } from '../../src/replication/audit-proof.ts'
import { flipByte } from '../helpers/fs.ts'
import { makeBlob, startCluster, type Cluster, type TestNode } from './helpers.ts'

async function rejectsWith (promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof VaultError && err.code === code)
}

describe('audit ops of the block protocol', () => {
  let cluster: Cluster
  let owner: TestNode, holder: TestNode, other: TestNode
  const lost: Array<{ holder: string, ids: string[] }> = []

  before(async () => {
    cluster = await startCluster(3, { node: (i) => i === 0 ? { onLost: (peer, ids) => { lost.push({ holder: peer, ids }); return ids.length } } : {} })
    ;[owner, holder, other] = cluster.nodes
  })
  after(async () => { await cluster.stop() })

  test('a holder proves the blobs it has with the fresh nonce, says null for the ones it lacks, and a damaged copy gives a wrong proof', async () => {
    const [a, b, c] = [makeBlob(), makeBlob(200_000), makeBlob()]
    await owner.client.putBlob(holder.id, owner.id, a.id, a.data)
    await owner.client.putBlob(holder.id, owner.id, b.id, b.data)
    await flipByte(holder.store.pathOf(owner.id, b.id), 1000)
    const nonce = newAuditNonce()
    const proofs = await owner.client.proveBlobs(holder.id, owner.id, nonce, [a.id, b.id, c.id])
    assert.equal(proofs[0], proofOf(nonce, a.data))
    assert.notEqual(proofs[1], null)
    assert.notEqual(proofs[1], proofOf(nonce, b.data), 'the damaged copy cannot pass')
    assert.equal(proofs[2], null)
    const again = await owner.client.proveBlobs(holder.id, owner.id, newAuditNonce(), [a.id])
    assert.notEqual(again[0], proofs[0], 'a new nonce, a new proof: an old answer cannot be replayed')
  })

  test('only the owner may audit its folder, and at most 8 blobs at a time', async () => {
    const blob = makeBlob()
    await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
    await rejectsWith(other.client.proveBlobs(holder.id, owner.id, newAuditNonce(), [blob.id]), 'FORBIDDEN')
    await rejectsWith(owner.client.proveBlobs(holder.id, owner.id, newAuditNonce(), Array.from({ length: 9 }, () => blob.id)), 'BAD_INPUT')
  })

  test('a holder reports lost copies to their owner, which hears who reported them', async () => {
    const ids = [makeBlob().id, makeBlob().id]
    assert.equal(await holder.client.reportLost(owner.id, ids), 2)
    assert.deepEqual(lost, [{ holder: holder.id, ids }])
    assert.equal(await holder.client.reportLost(other.id, ids), 0, 'a node that recorded nothing drops nothing')
  })
})
