// One bulk stream between two processes, both measured: MB/s and CPU-seconds per GB on the sender
// and on the receiver, over plain TCP, node:tls or our stack (TCP + private network + Noise +
// Yamux). For profiling each side alone and for measuring one lever at a time, same run:
//
//   npx node bench/stream-probe.ts [--mode tcp,tls,stack] [--mib 256] [--chunk-kib 64] [--rounds 3]
//     [--window-kib N] [--sender-flags '--cpu-prof --cpu-prof-dir=/tmp/p'] [--receiver-flags '…']
//
// Each side reports its own process.cpuUsage() from its first to its last byte; the receiver
// answers the sender with its byte count and CPU once the sender has closed. As a section of
// `npm run bench -- stream-probe` it runs all three with 64 KiB writes (as `link` does) and TCP and
// our stack again with 1 MiB writes (the size of a chunk frame).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { createNetwork, generateNetworkKey, type NetworkLimits } from '../src/net/index.ts'
import type { BenchContext, Target } from './lib/types.ts'
import { drained } from './lib/stream-drain.ts'

const SELF = fileURLToPath(import.meta.url)
const PROTOCOL = '/distri-vault/bench/1'
const TLS_CIPHERS = 'PSK-AES256-GCM-SHA384'
const silent = pino({ level: 'silent' })

export type StreamMode = 'tcp' | 'tls' | 'stack'

export interface ProbeSettings {
  mode: StreamMode
  bytes: number
  chunkBytes: number
  /** Yamux stream window for both sides (bytes), or our default. */
  windowBytes?: number
  /** Hex; for tls (psk) and stack (network key). */
  secretHex?: string
  address?: string
}

export interface ProbeResult {
  mode: StreamMode
  MBps: number
  senderCpuPerGB: number
  receiverCpuPerGB: number
}

function cpuSeconds (since?: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1e6
}

function limitsOf (settings: ProbeSettings): Partial<NetworkLimits> {
  return settings.windowBytes === undefined ? {} : { maxStreamWindowBytes: settings.windowBytes }
}

// ---- receiver ----

async function receive (settings: ProbeSettings): Promise<void> {
  if (settings.mode === 'stack') {
    const network = createNetwork({ privateKey: await generateKeyPair('Ed25519'), networkKey: Buffer.from(settings.secretHex!, 'hex'), listen: '127.0.0.1:0', bootstrap: [], mdns: false, peerExchange: false, log: silent, limits: limitsOf(settings) })
    await network.start()
    await network.libp2p.handle(PROTOCOL, async (stream) => {
      let received = 0
      let started: NodeJS.CpuUsage | undefined
      for await (const data of stream) {
        started ??= process.cpuUsage()
        received += data.byteLength
      }
      stream.send(new TextEncoder().encode(JSON.stringify({ received, cpu: cpuSeconds(started) })))
      await stream.close()
    })
    console.log(JSON.stringify({ address: network.addresses()[0] }))
    return
  }
  const onSocket = (socket: Socket): void => {
    let received = 0
    let started: NodeJS.CpuUsage | undefined
    socket.on('data', (data: Buffer) => { started ??= process.cpuUsage(); received += data.byteLength })
    socket.on('end', () => { socket.end(JSON.stringify({ received, cpu: cpuSeconds(started) })) })
  }
  const server = settings.mode === 'tcp'
    ? createServer(onSocket)
    : createTlsServer({ ciphers: TLS_CIPHERS, maxVersion: 'TLSv1.2', pskCallback: () => Buffer.from(settings.secretHex!, 'hex') }, onSocket)
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    console.log(JSON.stringify({ address: typeof address === 'object' && address != null ? String(address.port) : '' }))
  })
}

// ---- sender ----

interface Ack { received: number, cpu: number }

async function send (settings: ProbeSettings): Promise<void> {
  const chunk = randomBytes(settings.chunkBytes)
  let seconds: number
  let cpu: number
  let ack: Ack
  if (settings.mode === 'stack') {
    const network = createNetwork({ privateKey: await generateKeyPair('Ed25519'), networkKey: Buffer.from(settings.secretHex!, 'hex'), listen: '127.0.0.1:0', bootstrap: [], mdns: false, peerExchange: false, log: silent, limits: limitsOf(settings) })
    await network.start()
    const stream = await network.libp2p.dialProtocol(multiaddr(settings.address!), PROTOCOL)
    const cpuStart = process.cpuUsage()
    const started = performance.now()
    for (let sent = 0; sent < settings.bytes; sent += settings.chunkBytes) {
      if (!stream.send(chunk) && stream.writableNeedsDrain) await drained(stream)
    }
    await stream.close()
    let text = ''
    for await (const data of stream) text += new TextDecoder().decode(data.subarray())
    seconds = (performance.now() - started) / 1000
    cpu = cpuSeconds(cpuStart)
    ack = JSON.parse(text) as Ack
    await network.stop()
  } else {
    const port = Number(settings.address)
    const socket: Socket = settings.mode === 'tcp'
      ? connect(port, '127.0.0.1')
      : tlsConnect({ host: '127.0.0.1', port, ciphers: TLS_CIPHERS, maxVersion: 'TLSv1.2', pskCallback: () => ({ psk: Buffer.from(settings.secretHex!, 'hex'), identity: 'bench' }), checkServerIdentity: () => undefined })
    await once(socket, settings.mode === 'tcp' ? 'connect' : 'secureConnect')
    const cpuStart = process.cpuUsage()
    const started = performance.now()
    for (let sent = 0; sent < settings.bytes; sent += settings.chunkBytes) {
      if (!socket.write(chunk)) await once(socket, 'drain')
    }
    socket.end()
    let text = ''
    for await (const data of socket) text += String(data)
    seconds = (performance.now() - started) / 1000
    cpu = cpuSeconds(cpuStart)
    ack = JSON.parse(text) as Ack
  }
  const expected = Math.ceil(settings.bytes / settings.chunkBytes) * settings.chunkBytes
  if (ack.received !== expected) throw new Error(`the receiver got ${ack.received} bytes, not ${expected}`)
  const gb = expected / 1e9
  console.log(JSON.stringify({ mode: settings.mode, MBps: expected / 1e6 / seconds, senderCpuPerGB: cpu / gb, receiverCpuPerGB: ack.cpu / gb } satisfies ProbeResult))
}

// ---- as a section of `npm run bench` ----

export const title = 'stream-probe: one stream per side (CPU-s per GB on sender and receiver), TCP vs node:tls vs our stack'

export const targets: Record<string, Target> = {
  stack_to_tcp_ratio: { min: 0.5 }
}

export default async function streamProbe (ctx: BenchContext): Promise<Record<string, number>> {
  const bytes = 256 * 1024 * 1024
  const runs: Array<ProbeResult & { chunkKiB: number }> = []
  for (let i = 0; i < ctx.options.repeat; i++) {
    ctx.log(`stream-probe round ${i + 1}/${ctx.options.repeat}`)
    for (const [mode, chunkKiB] of [['tcp', 64], ['tls', 64], ['stack', 64], ['tcp', 1024], ['stack', 1024]] as const) {
      runs.push({ ...await probe({ mode, bytes, chunkBytes: chunkKiB * 1024 }), chunkKiB })
    }
  }
  const of = (mode: StreamMode, chunkKiB: number): ProbeResult[] => runs.filter(r => r.mode === mode && r.chunkKiB === chunkKiB)
  const best = (rs: ProbeResult[]): number => Math.max(...rs.map(r => r.MBps))
  const least = (rs: ProbeResult[], side: 'senderCpuPerGB' | 'receiverCpuPerGB'): number => Math.min(...rs.map(r => r[side]))
  const out: Record<string, number> = {}
  for (const [mode, chunkKiB] of [['tcp', 64], ['tls', 64], ['stack', 64], ['tcp', 1024], ['stack', 1024]] as const) {
    const name = chunkKiB === 64 ? mode : `${mode}_1MiB`
    out[`${name}_MBps`] = best(of(mode, chunkKiB))
    out[`${name}_sender_cpu_s_per_GB`] = least(of(mode, chunkKiB), 'senderCpuPerGB')
    out[`${name}_receiver_cpu_s_per_GB`] = least(of(mode, chunkKiB), 'receiverCpuPerGB')
  }
  out.stack_to_tcp_ratio = out.stack_MBps / out.tcp_MBps
  out.tls_to_tcp_ratio = out.tls_MBps / out.tcp_MBps
  out.stack_1MiB_to_tcp_1MiB_ratio = out.stack_1MiB_MBps / out.tcp_1MiB_MBps
  return out
}

// ---- driver ----

function split (flags: string | undefined): string[] {
  return flags === undefined || flags.trim() === '' ? [] : flags.trim().split(/\s+/)
}

async function child (flags: string[], role: 'send' | 'receive', settings: ProbeSettings): Promise<{ line: Record<string, unknown>, done: Promise<void>, kill: () => void }> {
  // BENCH_PROBE_WRAP_SENDER / _RECEIVER: a command to run that side under, e.g. `perf record -g -o r.data --`.
  const wrap = split(process.env[role === 'send' ? 'BENCH_PROBE_WRAP_SENDER' : 'BENCH_PROBE_WRAP_RECEIVER'])
  const argv = [...wrap, process.execPath, ...flags, SELF, `--${role}`, JSON.stringify(settings)]
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(proc, 'exit')
  const [line] = await Promise.race([
    once(createInterface({ input: proc.stdout! }), 'line') as Promise<[string]>,
    exited.then(([code]) => { throw new Error(`the ${role} process exited with ${String(code)}`) })
  ])
  return { line: JSON.parse(line) as Record<string, unknown>, done: exited.then(() => undefined), kill: () => proc.kill('SIGINT') }
}

/** One transfer between two fresh processes. */
export async function probe (settings: Omit<ProbeSettings, 'secretHex' | 'address'>, flags: { sender?: string[], receiver?: string[] } = {}): Promise<ProbeResult> {
  const secretHex = settings.mode === 'stack' ? Buffer.from(generateNetworkKey()).toString('hex') : randomBytes(32).toString('hex')
  const receiver = await child(flags.receiver ?? [], 'receive', { ...settings, secretHex })
  try {
    const sender = await child(flags.sender ?? [], 'send', { ...settings, secretHex, address: String(receiver.line.address) })
    await sender.done
    return sender.line as unknown as ProbeResult
  } finally {
    receiver.kill()
    await receiver.done
  }
}

async function main (): Promise<void> {
  const role = process.argv[2]
  if (role === '--receive' || role === '--send') {
    const settings = JSON.parse(process.argv[3]) as ProbeSettings
    // SIGINT ends the receiver with a normal exit, so --cpu-prof writes its profile.
    process.once('SIGINT', () => process.exit(0))
    if (role === '--receive') await receive(settings)
    else await send(settings)
    return
  }
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'tcp,tls,stack' },
      mib: { type: 'string', default: '256' },
      'chunk-kib': { type: 'string', default: '64' },
      rounds: { type: 'string', default: '3' },
      'window-kib': { type: 'string' },
      'sender-flags': { type: 'string' },
      'receiver-flags': { type: 'string' }
    }
  })
  const modes = values.mode.split(',') as StreamMode[]
  const results: ProbeResult[] = []
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of modes) {
      const result = await probe({
        mode,
        bytes: Number(values.mib) * 1024 * 1024,
        chunkBytes: Number(values['chunk-kib']) * 1024,
        windowBytes: values['window-kib'] === undefined ? undefined : Number(values['window-kib']) * 1024
      }, { sender: split(values['sender-flags']), receiver: split(values['receiver-flags']) })
      results.push(result)
      console.log(JSON.stringify(result))
    }
  }
  const best = (mode: StreamMode): ProbeResult | undefined => results.filter(r => r.mode === mode).sort((a, b) => b.MBps - a.MBps)[0]
  const tcp = best('tcp')
  for (const mode of modes) {
    const r = best(mode)!
    const minCpu = (side: 'senderCpuPerGB' | 'receiverCpuPerGB'): number => Math.min(...results.filter(x => x.mode === mode).map(x => x[side]))
    console.log(`${mode.padEnd(6)} best ${r.MBps.toFixed(1)} MB/s${tcp === undefined ? '' : ` = ${(r.MBps / tcp.MBps).toFixed(3)}× tcp`}; CPU-s/GB (least) sender ${minCpu('senderCpuPerGB').toFixed(2)}, receiver ${minCpu('receiverCpuPerGB').toFixed(2)}`)
  }
}

if (process.argv[1] === SELF) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exit(1)
  })
}
