// A bootstrap list that names this node itself (a config shared by every node of a network): the
// node recognises its own answer by libp2p's error class, not its message text, and stops dialing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { Harness, waitFor } from './helpers.ts'

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('a bootstrap address that is the node itself is recognised and dropped, not redialled', async (t) => {
  const h = new Harness(t)
  const port = await freePort()
  const node = await h.node({ name: 'self', listen: `127.0.0.1:${port}`, bootstrap: [`/ip4/127.0.0.1/tcp/${port}`] })
  await waitFor('the node to notice it dialed itself', () =>
    node.logs.lines.some((line) => line.msg === 'bootstrap address is this node itself; not dialing it'))
  assert.equal(node.network.isConnected(node.nodeId), false)
})
