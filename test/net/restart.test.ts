// A peer in another OS process is killed with SIGKILL and restarted on the same port with the same
// key: the others notice, and reconnect to it on their own (it knows no bootstrap address then).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { Harness, TEST_TIMING, connectedTo, waitFor, type TestNode } from './helpers.ts'

const FIXTURE = fileURLToPath(new URL('./fixtures/network-node.ts', import.meta.url))

interface Spawned { child: ChildProcess, nodeId: string, address: string }

async function spawnPeer (h: Harness, settings: object): Promise<Spawned> {
  const child = spawn(process.execPath, [FIXTURE, JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'inherit'] })
  h.onCleanup(async () => {
    if (child.exitCode == null && child.signalCode == null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })
  const lines = createInterface({ input: child.stdout! })
  const ready = await Promise.race([
    once(lines, 'line').then(([line]) => JSON.parse(line as string) as { nodeId: string, address: string }),
    once(child, 'exit').then(([code]) => { throw new Error(`fixture exited with ${code} before it was ready`) }),
    new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('fixture not ready after 15 s')), 15_000).unref())
  ])
  return { child, ...ready }
}

function sees (node: TestNode, nodeId: string): boolean {
  return node.network.isConnected(nodeId)
}

test('a peer killed with SIGKILL and restarted on the same port is reconnected by the others', async (t) => {
  const h = new Harness(t)
  const a = await h.node({ name: 'a' })
  const b = await h.node({ name: 'b', bootstrap: [a.address] })
  await waitFor('b connected to a', () => connectedTo(b, a))

  const key = await generateKeyPair('Ed25519')
  const settings = {
    privateKeyHex: Buffer.from(privateKeyToProtobuf(key)).toString('hex'),
    networkKeyHex: Buffer.from(h.networkKey).toString('hex'),
    listen: '127.0.0.1:0',
    bootstrap: [a.address],
    timing: TEST_TIMING
  }
  const first = await spawnPeer(h, settings)
  await waitFor('a and b connected to the peer process', () => sees(a, first.nodeId) && sees(b, first.nodeId))

  first.child.kill('SIGKILL')
  await once(first.child, 'exit')
  await waitFor('a and b see it gone', () => !sees(a, first.nodeId) && !sees(b, first.nodeId))

  const port = first.address.split('/')[4]
  const second = await spawnPeer(h, { ...settings, listen: `127.0.0.1:${port}`, bootstrap: [] })
  assert.equal(second.nodeId, first.nodeId)
  assert.equal(second.address, first.address)
  await waitFor('a and b reconnected to the restarted peer', () => sees(a, second.nodeId) && sees(b, second.nodeId), { timeoutMs: 15_000 })
  assert.ok(connectedTo(a, b))
})

test('a lost peer that comes back on another port is dialled as soon as it is reported there (mDNS, peer exchange), not at the end of its back-off', async (t) => {
  const h = new Harness(t)
  // b waits 16–24 s before redialling a lost peer: longer than this test waits.
  const b = await h.node({ name: 'b', timing: { redialInitialMs: 20_000, redialMaxMs: 20_000 } })
  const key = await generateKeyPair('Ed25519')
  const first = await h.node({ name: 'x', privateKey: key, bootstrap: [b.address] })
  await waitFor('b connected to x', () => sees(b, first.nodeId))

  await first.network.stop()
  await waitFor('b sees x gone', () => !sees(b, first.nodeId))
  // Back on another port, dialling nobody: only b's dial can bring them together in time.
  const second = await h.node({ name: 'x again', privateKey: key, peerExchange: false })
  assert.notEqual(second.address, first.address)
  // Reported at its new address, as mDNS reports a peer (peer exchange calls the same keeper).
  const detail = { id: peerIdFromString(second.nodeId), multiaddrs: [multiaddr(second.address)] }
  b.network.libp2p.dispatchEvent(new CustomEvent('peer:discovery', { detail }))
  await waitFor('b reconnected to x at its new address', () => sees(b, second.nodeId), { timeoutMs: 8_000 })
})
