// Network benchmark: one stream's throughput over our libp2p stack (TCP + pnet + Noise + Yamux)
// next to plain TCP, both between two Node processes in the same run, and the latency of signed
// direct messages (send → subscriber on the other node). `npx node bench/net.ts` prints a table
// and a JSON line; the same file, re-run as a child with --serve-*, is the receiving side.

import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { pino } from 'pino'
import { createNetwork, generateNetworkKey } from '../src/net/index.ts'
import { createMessenger } from '../src/messaging/index.ts'
import type { BenchContext, Target } from './lib/types.ts'
import { drained } from './lib/stream-drain.ts'

const STREAM_BYTES = 256 * 1024 * 1024
const CHUNK_BYTES = 64 * 1024
const MESSAGES = 1_000
const BENCH_PROTOCOL = '/distri-vault/bench/1'
const SELF = fileURLToPath(import.meta.url)
const silent = pino({ level: 'silent' })

export interface NetworkBenchResult {
  libp2pMBps: number
  tcpMBps: number
  msgP50Ms: number
  msgP99Ms: number
}

export async function benchNetwork (): Promise<NetworkBenchResult> {
  const tcpMBps = await benchTcp()
  const libp2pMBps = await benchLibp2pStream()
  const { p50, p99 } = await benchMessageLatency()
  return { libp2pMBps: round(libp2pMBps), tcpMBps: round(tcpMBps), msgP50Ms: round(p50, 2), msgP99Ms: round(p99, 2) }
}

// ---- as a section of `npm run bench` (bench/run.ts) ----

export const title = 'network: one stream over our libp2p stack vs plain TCP; signed message latency'

export const targets: Record<string, Target> = {
  msgP99Ms: { max: 100, note: 'send → subscriber well under a second on a LAN' }
}

/** Best of `repeat` rounds for each number (the machine is shared; the best is the least disturbed). */
export default async function netSection (ctx: BenchContext): Promise<Record<string, number>> {
  const rounds: NetworkBenchResult[] = []
  for (let i = 0; i < ctx.options.repeat; i++) {
    ctx.log(`net round ${i + 1}/${ctx.options.repeat}`)
    rounds.push(await benchNetwork())
  }
  const best = (pick: (r: NetworkBenchResult) => number, higherIsBetter: boolean): number =>
    rounds.map(pick).reduce((a, b) => (higherIsBetter ? Math.max(a, b) : Math.min(a, b)))
  const libp2pMBps = best(r => r.libp2pMBps, true)
  const tcpMBps = best(r => r.tcpMBps, true)
  return {
    libp2pMBps,
    tcpMBps,
    libp2pToTcpRatio: round(libp2pMBps / tcpMBps, 3),
    msgP50Ms: best(r => r.msgP50Ms, false),
    msgP99Ms: best(r => r.msgP99Ms, false)
  }
}

// ---- plain TCP: the machine's own limit for one connection between two processes ----

export async function benchTcp (): Promise<number> {
  const child = await spawnReceiver({ mode: 'tcp' })
  try {
    const socket = connect(Number(child.ready.port), '127.0.0.1')
    await once(socket, 'connect')
    return await pumpSocket(socket)
  } finally {
    child.process.kill()
  }
}

/** Sends STREAM_BYTES on a connected socket and waits for the receiver's count; MB/s. */
async function pumpSocket (socket: Socket): Promise<number> {
  const chunk = randomBytes(CHUNK_BYTES)
  const started = performance.now()
  for (let sent = 0; sent < STREAM_BYTES; sent += CHUNK_BYTES) {
    if (!socket.write(chunk)) await once(socket, 'drain')
  }
  socket.end()
  const [ack] = await once(socket, 'data') as [Buffer]
  const seconds = (performance.now() - started) / 1000
  checkAck(ack.toString())
  socket.destroy()
  return STREAM_BYTES / 1e6 / seconds
}

function serveTcp (): void {
  listenAndCount(createServer(countBytes))
}

/** The receiving side: counts what arrives and answers the count when the sender ends. */
function countBytes (socket: Socket): void {
  let received = 0
  socket.on('data', (data: Buffer) => { received += data.byteLength })
  socket.on('end', () => { socket.end(String(received)) })
}

function listenAndCount (server: Server): void {
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    console.log(JSON.stringify({ port: typeof address === 'object' && address != null ? address.port : 0 }))
  })
}

// ---- one node:tls socket: what Node's own authenticated encryption costs one stream ----

/** TLS 1.2 with a pre-shared key (no certificate to make): AES-256-GCM, as most TLS links run. */
const TLS_CIPHERS = 'PSK-AES256-GCM-SHA384'

export async function benchTls (): Promise<number> {
  const psk = randomBytes(32)
  const child = await spawnReceiver({ mode: 'tls', pskHex: psk.toString('hex') })
  try {
    const options: ConnectionOptions = { host: '127.0.0.1', port: Number(child.ready.port), ciphers: TLS_CIPHERS, maxVersion: 'TLSv1.2', pskCallback: () => ({ psk, identity: 'bench' }), checkServerIdentity: () => undefined }
    const socket = tlsConnect(options)
    await once(socket, 'secureConnect')
    return await pumpSocket(socket)
  } finally {
    child.process.kill()
  }
}

function serveTls (settings: { pskHex: string }): void {
  const psk = Buffer.from(settings.pskHex, 'hex')
  listenAndCount(createTlsServer({ ciphers: TLS_CIPHERS, maxVersion: 'TLSv1.2', pskCallback: () => psk }, countBytes))
}

// ---- one stream over our libp2p stack ----

export async function benchLibp2pStream (): Promise<number> {
  const networkKey = generateNetworkKey()
  const child = await spawnReceiver({ mode: 'libp2p', networkKeyHex: Buffer.from(networkKey).toString('hex') })
  const network = createNetwork({ privateKey: await generateKeyPair('Ed25519'), networkKey, listen: '127.0.0.1:0', bootstrap: [], mdns: false, peerExchange: false, log: silent })
  try {
    await network.start()
    const stream = await network.libp2p.dialProtocol(multiaddr(child.ready.address), BENCH_PROTOCOL)
    const chunk = randomBytes(CHUNK_BYTES)
    const started = performance.now()
    for (let sent = 0; sent < STREAM_BYTES; sent += CHUNK_BYTES) {
      if (!stream.send(chunk) && stream.writableNeedsDrain) await drained(stream)
    }
    await stream.close()
    let ack = ''
    for await (const data of stream) ack += new TextDecoder().decode(data.subarray())
    const seconds = (performance.now() - started) / 1000
    checkAck(ack)
    return STREAM_BYTES / 1e6 / seconds
  } finally {
    await network.stop()
    child.process.kill()
  }
}

async function serveLibp2p (settings: { networkKeyHex: string }): Promise<void> {
  const network = createNetwork({ privateKey: await generateKeyPair('Ed25519'), networkKey: Buffer.from(settings.networkKeyHex, 'hex'), listen: '127.0.0.1:0', bootstrap: [], mdns: false, peerExchange: false, log: silent })
  await network.start()
  await network.libp2p.handle(BENCH_PROTOCOL, async (stream) => {
    let received = 0
    for await (const data of stream) received += data.byteLength
    stream.send(new TextEncoder().encode(String(received)))
    await stream.close()
  })
  console.log(JSON.stringify({ address: network.addresses()[0] }))
}

// ---- signed direct messages: send() on one node to the subscriber on the other ----

async function benchMessageLatency (): Promise<{ p50: number, p99: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'dv-bench-'))
  const networkKey = generateNetworkKey()
  const cleanups: Array<() => Promise<void> | void> = []
  try {
    const nodes = []
    for (const name of ['a', 'b']) {
      const privateKey = await generateKeyPair('Ed25519')
      const network = createNetwork({ privateKey, networkKey, listen: '127.0.0.1:0', bootstrap: nodes.map(n => n.network.addresses()[0]), mdns: false, log: silent })
      await network.start()
      cleanups.push(async () => { await network.stop() })
      const db = new DatabaseSync(join(dir, `${name}.db`))
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;') // as the catalog opens it
      cleanups.push(() => { db.close() })
      const messenger = createMessenger({ network, db, privateKey, log: silent })
      await messenger.start()
      cleanups.push(async () => { await messenger.stop() })
      nodes.push({ network, messenger })
    }
    const [a, b] = nodes
    await waitUntil(() => a.network.isConnected(b.network.nodeId))
    const arrivals = new Map<string, number>()
    let wake: (() => void) | undefined
    b.messenger.subscribe(message => { arrivals.set(message.text, performance.now()); wake?.() })
    const latencies: number[] = []
    for (let i = 0; i < MESSAGES + 20; i++) {
      const text = `message ${i}`
      const started = performance.now()
      const arrived = new Promise<void>(resolve => { wake = resolve })
      const sent = await a.messenger.send(b.network.nodeId, text)
      if (!sent.delivered) throw new Error(`message ${i} not delivered`)
      if (!arrivals.has(text)) await arrived
      if (i >= 20) latencies.push(arrivals.get(text)! - started) // the first 20 warm up
    }
    latencies.sort((x, y) => x - y)
    return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup()
    await rm(dir, { recursive: true, force: true })
  }
}

// ---- plumbing ----

interface Receiver { process: ChildProcess, ready: Record<string, string> }

async function spawnReceiver (settings: Record<string, string>): Promise<Receiver> {
  const child = spawn(process.execPath, [SELF, '--serve', JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [line] = await once(createInterface({ input: child.stdout! }), 'line') as [string]
  return { process: child, ready: JSON.parse(line) as Record<string, string> }
}

function checkAck (ack: string): void {
  if (Number(ack) !== STREAM_BYTES) throw new Error(`the receiver got ${ack} bytes, not ${STREAM_BYTES}`)
}

async function waitUntil (condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('benchmark nodes did not connect')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]
}

function round (value: number, digits = 0): number {
  return Number(value.toFixed(digits))
}

async function main (): Promise<void> {
  if (process.argv[2] === '--serve') {
    const settings = JSON.parse(process.argv[3]) as { mode: string, networkKeyHex: string, pskHex: string }
    if (settings.mode === 'tcp') serveTcp()
    else if (settings.mode === 'tls') serveTls(settings)
    else await serveLibp2p(settings)
    return
  }
  const result = await benchNetwork()
  console.log('network benchmark (127.0.0.1, two processes for the streams)')
  console.table({
    [`one stream, ${STREAM_BYTES / 1024 / 1024} MiB`]: { 'libp2p (MB/s)': result.libp2pMBps, 'plain TCP (MB/s)': result.tcpMBps, ratio: round(result.libp2pMBps / result.tcpMBps, 3) },
    [`direct message latency, ${MESSAGES} messages`]: { p50_ms: result.msgP50Ms, p99_ms: result.msgP99Ms }
  })
  console.log(JSON.stringify({ bench: 'net', ...result }))
}

if (process.argv[1] === SELF) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
