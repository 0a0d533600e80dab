// Section "hyperdrive" (issue 17): our 2-node transfer next to Hyperdrive 11's replication of the
// same file between two processes on loopback, in the same run. Ours: node a puts the file (one
// copy, its own), node b, holding nothing, gets it by capability (every chunk over pnet + Noise +
// yamux, opened and checked on arrival). Hyperdrive: one process seeds a drive holding the file,
// another downloads it (Hypercore verifies every block; the link is its Noise secret stream) and
// writes it out. Both report MB/s of file and CPU-seconds per GB over both processes.
import { spawn, type ChildProcess } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { joinNode, waitForPeers } from './replication.ts'
import { sha256File } from './lib/files.ts'
import { cpuSecondsOf } from './lib/node-proc.ts'
import { max, mbps, min } from './lib/stats.ts'
import type { BenchContext, RandomFile, Target } from './lib/types.ts'

export const title = 'hyperdrive: Hyperdrive 11 replication vs our capability get, 2 processes on loopback'

export const targets: Record<string, Target> = {
  ours_to_hyperdrive_ratio: { min: 1 }
}

const CHILD = fileURLToPath(new URL('./lib/hyperdrive-child.ts', import.meta.url))
const GB = 1e9

interface Round { seconds: number, cpu: number }

async function firstLine (child: ChildProcess, what: string): Promise<string> {
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (t: string) => { stderr = (stderr + t).slice(-4096) })
  return await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.once('line', line => resolve(line))
    child.once('exit', (code) => reject(new Error(`${what} exited (code ${code}) before answering: ${stderr}`)))
  })
}

async function hyperdriveRound (ctx: BenchContext, file: RandomFile): Promise<Round> {
  const seeder = spawn(ctx.node, [CHILD, 'seed', await ctx.tempDir('hd-seed-'), file.path], { stdio: ['ignore', 'pipe', 'pipe'] })
  ctx.onCleanup(() => { seeder.kill('SIGKILL') })
  try {
    const { key, port } = JSON.parse(await firstLine(seeder, 'the Hyperdrive seeder')) as { key: string, port: number }
    const out = join(ctx.workDir, 'hd-out.bin')
    const seederCpu = await cpuSecondsOf(seeder.pid!)
    const started = performance.now()
    const fetcher = spawn(ctx.node, [CHILD, 'fetch', await ctx.tempDir('hd-fetch-'), key, String(port), out], { stdio: ['ignore', 'pipe', 'pipe'] })
    const { cpuSeconds } = JSON.parse(await firstLine(fetcher, 'the Hyperdrive fetcher')) as { cpuSeconds: number }
    const seconds = (performance.now() - started) / 1000
    const cpu = cpuSeconds + (await cpuSecondsOf(seeder.pid!)) - seederCpu
    await new Promise(resolve => fetcher.once('exit', resolve))
    if (await sha256File(out) !== file.sha256) throw new Error('Hyperdrive delivered different bytes')
    await rm(out, { force: true })
    return { seconds, cpu }
  } finally {
    seeder.kill('SIGTERM')
  }
}

async function oursRound (ctx: BenchContext, file: RandomFile): Promise<Round> {
  const a = await joinNode(ctx)
  try {
    await ctx.runCli(['put', file.path, '--name', 'hd.bin', '--replicas', '1', '--json', '--data', a.dataDir])
    const cap = (await ctx.runCli(['share', 'hd.bin', '--data', a.dataDir])).stdout.trim()
    const b = await joinNode(ctx, a)
    try {
      await waitForPeers(ctx, [b], 1)
      const out = join(ctx.workDir, 'ours-out.bin')
      const cpuBefore = await a.cpuSeconds() + await b.cpuSeconds()
      const started = performance.now()
      await ctx.runCli(['get', cap, '-o', out, '--data', b.dataDir])
      const seconds = (performance.now() - started) / 1000
      const cpu = await a.cpuSeconds() + await b.cpuSeconds() - cpuBefore
      if (await sha256File(out) !== file.sha256) throw new Error('our get returned different bytes')
      await rm(out, { force: true })
      return { seconds, cpu }
    } finally {
      await b.stop()
    }
  } finally {
    await a.stop()
  }
}

export default async function hyperdrive (ctx: BenchContext): Promise<Record<string, number>> {
  const file = await ctx.randomFile(ctx.options.fileBytes, 29)
  const hd: Round[] = []
  const ours: Round[] = []
  for (let i = 0; i < ctx.options.repeat; i++) {
    ctx.log(`hyperdrive round ${i + 1}/${ctx.options.repeat}`)
    hd.push(await hyperdriveRound(ctx, file))
    ours.push(await oursRound(ctx, file))
  }
  const gbs = file.bytes / GB
  const hdMBps = max(hd.map(r => mbps(file.bytes, r.seconds)))
  const oursMBps = max(ours.map(r => mbps(file.bytes, r.seconds)))
  return {
    hyperdrive_MBps: hdMBps,
    ours_MBps: oursMBps,
    ours_to_hyperdrive_ratio: oursMBps / hdMBps,
    hyperdrive_cpu_s_per_GB: min(hd.map(r => r.cpu / gbs)),
    ours_cpu_s_per_GB: min(ours.map(r => r.cpu / gbs))
  }
}
