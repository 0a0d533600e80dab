// Traffic counters read from the TCP sockets under a node's connections: bytes per peer and per
// hour, and a meter that cannot see its connections (the network stopping) never gets in the way
// of a socket closing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
// The module under test, not net/index.ts (libp2p's whole stack, ~1 CPU-s, for a unit).
import { TrafficMeter } from '../../src/net/traffic.ts'
import { waitFor } from '../helpers/wait.ts'

async function socketPair (t: { after: (fn: () => void) => void }): Promise<{ client: Socket, server: Socket, port: number }> {
  const accepted: Socket[] = []
  const listener = createServer((s) => accepted.push(s))
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  t.after(() => { listener.close() })
  const port = (listener.address() as AddressInfo).port
  const client = connect(port, '127.0.0.1')
  await once(client, 'connect')
  const server = await waitFor('the connection to be accepted', () => accepted[0])
  return { client, server, port }
}

test('bytes to and from a peer are counted per peer and in the current hour, up to the socket\'s close', async (t) => {
  const { client, server, port } = await socketPair(t)
  const meter = new TrafficMeter({ connections: () => [{ peer: 'peer-a', remoteAddr: `/ip4/127.0.0.1/tcp/${port}/p2p/x`, direction: 'outbound' }], listenPorts: () => [] })
  meter.start()
  t.after(() => meter.stop())
  server.resume()
  client.write(Buffer.alloc(1000))
  server.write(Buffer.alloc(500))
  await waitFor('the client to read 500 bytes', () => client.bytesRead === 500)
  client.resume()
  client.end()
  await once(client, 'close')
  assert.deepEqual(meter.peers().get('peer-a'), { sent: 1000, received: 500 }, 'only the client\'s socket matches the connection')
  const hours = meter.hourly()
  assert.equal(hours.length, 24)
  assert.deepEqual({ sent: hours[23].sent, received: hours[23].received }, { sent: 1000, received: 500 })
})

test('a meter that cannot list its connections (the network stopping) never breaks a socket\'s close', async (t) => {
  const { client, server } = await socketPair(t)
  const meter = new TrafficMeter({ connections: () => { throw new Error('the network is not started') }, listenPorts: () => [] })
  meter.start()
  t.after(() => meter.stop())
  let closedAfter = false
  client.on('close', () => { closedAfter = true })
  server.destroy()
  client.destroy()
  await once(client, 'close')
  assert.equal(closedAfter, true, 'the socket\'s other close listeners ran')
  assert.equal(meter.peers().size, 0)
})
