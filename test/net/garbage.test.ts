// Junk on the p2p port — 1 MiB of random bytes, a burst of connections — costs the node nothing:
// it keeps its peers and keeps delivering messages.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { Harness, connectedTo, inbox, waitFor } from './helpers.ts'

/** Opens a raw TCP connection, writes `bytes`, and resolves when the node has closed it. */
async function throwBytes (port: number, bytes: Uint8Array): Promise<void> {
  await new Promise<void>((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1', () => { socket.end(bytes) })
    socket.on('error', () => {}) // a reset from the node is the expected outcome
    socket.on('close', () => resolve())
    socket.resume()
  })
}

test('1 MiB of random bytes at the p2p port: the node keeps its peers and still delivers messages', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  await waitFor('b connected to a', () => connectedTo(b, a))
  const [ma, mb] = [await h.messenger(a), await h.messenger(b)]
  const atA = inbox(ma)
  let disconnects = 0
  a.network.on('peer:disconnect', () => disconnects++)
  const port = Number(a.address.split('/')[4])

  await throwBytes(port, randomBytes(1024 * 1024))
  await waitFor('a reports the junk connection', () => a.network.stats().refusedConnections >= 1, { timeoutMs: 15_000 })

  // And a burst of 40 junk connections at once.
  await Promise.all(Array.from({ length: 40 }, async () => await throwBytes(port, randomBytes(4096))))
  const stats = a.network.stats()
  // Each one failed its handshake, waited its turn and was closed, or was turned away.
  assert.ok(stats.failedHandshakes + stats.guardRefusedConnections + stats.deniedConnections >= 41, JSON.stringify(stats))

  assert.equal(disconnects, 0)
  assert.ok(connectedTo(a, b))
  const sent = await mb.send(a.nodeId, 'still here')
  assert.equal(sent.delivered, true)
  await waitFor('a gets the message', () => atA.some(m => m.text === 'still here' && m.from === b.nodeId))
  assert.equal(process.memoryUsage().rss < 1024 * 1024 * 1024, true)
})
