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
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/fs.ts'
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

test('nodes that restart on new ports, each knowing only a peer that is gone, find each other again through the peers they remember', async (t) => {
  const h = new Harness(t)
  const dir = await tempDir(t)
  const memory = (name: string): string => join(dir, `${name}-peers.json`)
  const keys = { a: await generateKeyPair('Ed25519'), b: await generateKeyPair('Ed25519'), c: await generateKeyPair('Ed25519') }
  const a = await h.node({ name: 'a', privateKey: keys.a, peerMemoryFile: memory('a') })
  const b = await h.node({ name: 'b', privateKey: keys.b, peerMemoryFile: memory('b'), bootstrap: [a.address] })
  const c = await h.node({ name: 'c', privateKey: keys.c, peerMemoryFile: memory('c'), bootstrap: [a.address] })
  await waitFor('a, b and c meshed', () => connectedTo(a, b, c) && connectedTo(b, c))

  // b comes back on another port knowing only a, and a goes away at once, before b could learn
  // anything from it; a comes back on another port knowing only c. Nobody's --peer address leads
  // to b: without remembered peers b stays alone for good.
  await b.network.stop()
  const b2 = await h.node({ name: 'b again', privateKey: keys.b, peerMemoryFile: memory('b'), bootstrap: [a.address] })
  await a.network.stop()
  const a2 = await h.node({ name: 'a again', privateKey: keys.a, peerMemoryFile: memory('a'), bootstrap: [c.address] })
  assert.notEqual(b2.address, b.address)
  assert.notEqual(a2.address, a.address)
  await waitFor('a, b and c meshed again', () => connectedTo(a2, b2, c) && connectedTo(b2, c), { timeoutMs: 15_000 })

  // The file is a hint: damaged, it is ignored with a warning and the node starts with its --peer
  // addresses; it is written again as peers connect.
  await c.network.stop()
  await writeFile(memory('c'), '{"version":1,"peers":[{"id":"not a peer id","addrs":["/ip4/1.2.3.4/tcp/1"],"seenAt":1}')
  const c2 = await h.node({ name: 'c again', privateKey: keys.c, peerMemoryFile: memory('c'), bootstrap: [a2.address] })
  // …and identified (what is remembered is where a peer says it listens).
  await waitFor('c back with a and b, both identified', () => c2.network.peers().filter(p => p.reachability !== undefined).length === 2)
  assert.ok(c2.logs.lines.some(l => /remembered peers file is damaged/.test(String(l.msg))), 'a warning says the file was ignored')
  await c2.network.stop()
  const saved = JSON.parse(await readFile(memory('c'), 'utf8')) as { peers: Array<{ id: string, addrs: string[] }> }
  assert.deepEqual(saved.peers.map(p => p.id).sort(), [a2.nodeId, b2.nodeId].sort())
  assert.ok(saved.peers.every(p => p.addrs.length > 0 && p.addrs.every(ma => ma.endsWith(`/p2p/${p.id}`))))
})
