// One side of the Hyperdrive 11 replication the "hyperdrive" section measures, in its own process:
//   seed  DIR FILE        puts FILE into a new drive at /file.bin, listens on 127.0.0.1, prints
//                         {"key","port"}, and replicates with whoever connects until SIGTERM;
//   fetch DIR KEY PORT OUT connects, downloads the drive's file (every block verified by Hypercore,
//                         over its Noise secret stream), writes it to OUT, prints {"cpuSeconds"}.
import { createReadStream, createWriteStream } from 'node:fs'
import { createRequire } from 'node:module'
import { connect, createServer, type Socket } from 'node:net'
import { pipeline } from 'node:stream/promises'
import type { Duplex } from 'node:stream'

const require = createRequire(import.meta.url)
/* eslint-disable @typescript-eslint/no-explicit-any */
const Corestore = require('corestore') as any
const Hyperdrive = require('hyperdrive') as any

function pipeReplication (store: any, socket: Socket, initiator: boolean): void {
  const stream = store.replicate(initiator) as Duplex
  socket.on('error', () => {})
  stream.on('error', () => {})
  socket.pipe(stream).pipe(socket)
}

async function seed (dir: string, file: string): Promise<void> {
  const store = new Corestore(dir)
  const drive = new Hyperdrive(store)
  await drive.ready()
  await pipeline(createReadStream(file), drive.createWriteStream('/file.bin'))
  const server = createServer(socket => pipeReplication(store, socket, false))
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  process.stdout.write(JSON.stringify({ key: drive.key.toString('hex'), port }) + '\n')
  process.once('SIGTERM', () => process.exit(0))
}

async function fetch (dir: string, key: string, port: number, out: string): Promise<void> {
  const store = new Corestore(dir)
  const drive = new Hyperdrive(store, Buffer.from(key, 'hex'))
  await drive.ready()
  pipeReplication(store, connect(port, '127.0.0.1'), true)
  await drive.core.update({ wait: true })
  await drive.download('/')
  await pipeline(drive.createReadStream('/file.bin'), createWriteStream(out))
  const cpu = process.cpuUsage()
  // Exit at once: closing the drive can linger on the open replication stream, and is not the transfer.
  process.stdout.write(JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n', () => process.exit(0))
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'seed') await seed(args[0], args[1])
else if (mode === 'fetch') await fetch(args[0], args[1], Number(args[2]), args[3])
else throw new Error(`usage: hyperdrive-child seed DIR FILE | fetch DIR KEY PORT OUT (got ${mode})`)
