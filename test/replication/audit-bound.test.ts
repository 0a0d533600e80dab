// An audit always returns: a request below it that never settles (a layer that loses its deadline)
// is abandoned at the auditor's own bound, with no verdict on the holder, and the node still stops;
// and a holder whose disk hangs lets the request go at its deadline instead of holding it for ever.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { startCluster, putBytes } from '../helpers/cluster.ts'
import { VaultError } from '../../src/errors.ts'
import { newAuditNonce } from '../../src/replication/audit-proof.ts'
import { makeBlob, startCluster as startHolders } from './helpers.ts'

test('an audit whose proof request never settles returns at its bound, drops nothing, and the node still stops', async (t) => {
  // Registered before the cluster's clean-up, so it runs first: on the code before the fix the
  // audit (and the node's stop, which waits for it) hung until this released the request.
  const released = new AbortController()
  t.after(() => { released.abort() })
  const cluster = await startCluster(t, 2, { auditEverySeconds: 3600 }, { blockTimeoutMs: 400, auditAfterConnectMs: 3_600_000 })
  const [owner, holder] = cluster.nodes
  await putBytes(owner, 'kept.bin', randomBytes(100_000), 2)
  const auditor = owner.networking!.auditor
  // Fault injected: the proof request never settles, whatever its signal says.
  let asked = 0
  owner.networking!.client.proveBlobs = async () => {
    asked++
    return await new Promise<never>((_resolve, reject) => {
      released.signal.addEventListener('abort', () => reject(new Error('released by the test')), { once: true })
    })
  }
  const audits: Array<Record<string, unknown>> = []
  owner.events.on('job:progress', (e) => { if (e.job === 'audit') audits.push(e.progress) })
  const outcome = await Promise.race([
    auditor.audit(holder.nodeId).then(() => 'returned'),
    sleep(20_000, 'still waiting after 20 s', { ref: false })
  ])
  assert.equal(outcome, 'returned')
  assert.equal(asked, 1, 'the proof was asked for')
  assert.equal(auditor.faults().timeout, 0, 'a request we abandoned is no verdict on the holder')
  assert.equal(owner.vault.list()[0].replicas, 2, 'its copies still count')
  assert.equal(audits.at(-1)?.phase, 'done', 'the activity shows the audit ended')
  // And the node stops: nothing waits on the abandoned request.
  const stopped = await Promise.race([owner.stop().then(() => 'stopped'), sleep(20_000, 'stop still waiting after 20 s', { ref: false })])
  assert.equal(stopped, 'stopped')
})

test('a holder whose disk hangs on a proof ends the request at its own deadline, before the owner\'s', async (t) => {
  const released = new AbortController()
  t.after(() => { released.abort() })
  // The owner waits 10 s; the holder's deadline for a request is 300 ms.
  const cluster = await startHolders(2, { timeoutMs: 10_000, node: (i) => i === 1 ? { requestTimeoutMs: 300 } : {} })
  t.after(async () => { await cluster.stop() })
  const [owner, holder] = cluster.nodes
  const blob = makeBlob()
  await owner.client.putBlob(holder.id, owner.id, blob.id, blob.data)
  // Fault injected: the holder's disk hangs on reads until the test ends.
  holder.store.getUnverified = async () => await new Promise<never>((_resolve, reject) => {
    released.signal.addEventListener('abort', () => reject(new Error('the disk came back')), { once: true })
  })
  const started = Date.now()
  const err = await owner.client.proveBlobs(holder.id, owner.id, newAuditNonce(), [blob.id]).then(() => undefined, (e: unknown) => e)
  const waitedMs = Date.now() - started
  assert.ok(err instanceof VaultError, `a refusal, got ${String(err)}`)
  assert.notEqual(err.code, 'TIMEOUT', 'the holder let the request go; the owner did not have to wait out its own 10 s')
  assert.ok(waitedMs < 8_000, `answered after ${waitedMs} ms`)
})
