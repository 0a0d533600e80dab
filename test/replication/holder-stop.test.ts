// A holder's work for a request ends with the request: when the reader goes away (its stream
// closes) or the holder stops, a stalled answer is abandoned at once rather than running on to its
// 60 s deadline (which kept a stopped node's process alive, and a gone reader's work going).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startCluster, putBytes, waitFor, waitForMesh } from '../helpers/cluster.ts'

test('a stalled answer ends when the reader gives up, and when the holder stops', async (t) => {
  const cluster = await startCluster(t, 1)
  const [a] = cluster.nodes
  // b answers every GET only after 60 s.
  const b = await cluster.add({}, undefined, { serveFault: { delayMs: 60_000 } })
  await waitForMesh([a, b])
  await putBytes(a, 'f.bin', randomBytes(64 * 1024), 2)
  const id = a.vault.catalog.byName('f.bin')!.id
  const server = b.networking!.blockServer
  const client = a.networking!.client

  // The reader gives up after 300 ms: the holder's work for it ends with the stream.
  const giveUp = new AbortController()
  const first = client.getBlob(b.nodeId, a.nodeId, id, giveUp.signal).then(() => 'answered', (err: Error) => err.name)
  await waitFor('the holder to be answering', () => server.activeRequests() === 1)
  giveUp.abort()
  assert.notEqual(await first, 'answered')
  await waitFor('the holder to drop the request of a reader gone', () => server.activeRequests() === 0, { timeoutMs: 5_000 })

  // The holder stops while it answers: stop returns at once and the request is dropped.
  const second = client.getBlob(b.nodeId, a.nodeId, id).then(() => 'answered', (err: Error) => err.name)
  await waitFor('the holder to be answering again', () => server.activeRequests() === 1)
  const started = Date.now()
  await b.stop()
  assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`)
  await waitFor('the stopped holder to drop the request', () => server.activeRequests() === 0, { timeoutMs: 5_000 })
  assert.notEqual(await second, 'answered')
})
