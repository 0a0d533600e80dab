// An outsider without the network key, opening and closing connections in a loop from the same
// address as an honest node, cannot keep that node from joining: failed handshakes are throttled
// per address, and connections wait their turn instead of being refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { Harness, connectedTo, inbox, waitFor } from './helpers.ts'

interface Outsider { attempts: number, stop: () => Promise<void> }

/** `parallel` loops, each: connect, send a nonce and garbage (a wrong key's bytes), close. */
function outsiderLoop (port: number, parallel: number): Outsider {
  let running = true
  const state: Outsider = { attempts: 0, stop: async () => { running = false; await Promise.all(loops) } }
  const once = async (): Promise<void> => await new Promise<void>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(2_000, () => socket.destroy())
    socket.on('connect', () => { state.attempts++; socket.write(randomBytes(24 + 64)); setTimeout(() => socket.destroy(), 20) })
    socket.on('error', () => {})
    socket.on('close', () => resolve())
  })
  const loops = Array.from({ length: parallel }, async () => { while (running) await once() })
  return state
}

test('an honest node joins and exchanges a message while an outsider floods the same address with failed handshakes', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const port = Number(a.address.split('/tcp/')[1].split('/')[0])
  const outsider = outsiderLoop(port, 8)
  h.onCleanup(async () => { await outsider.stop() })
  await waitFor('the outsider to be refused many times', () => a.network.stats().refusedConnections >= 50, { timeoutMs: 20_000 })

  const joinStarted = Date.now()
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  await waitFor('b to join a despite the flood', () => connectedTo(b, a), { timeoutMs: 20_000 })
  t.diagnostic(`b joined in ${Date.now() - joinStarted} ms; the outsider had made ${outsider.attempts} connections`)
  const [ma, mb] = [await h.messenger(a), await h.messenger(b)]
  const atA = inbox(ma)
  const sent = await mb.send(a.nodeId, 'through the flood')
  assert.equal(sent.delivered, true)
  await waitFor('a gets the message', () => atA.some(m => m.text === 'through the flood'))
  assert.ok(outsider.attempts > 100, `the outsider kept going (${outsider.attempts} connections)`)
  const stats = a.network.stats()
  assert.ok(stats.failedHandshakes >= 10, `the guard counted the outsider's failures (${stats.failedHandshakes})`)
  assert.equal(a.network.isConnected(b.nodeId), true)
})
