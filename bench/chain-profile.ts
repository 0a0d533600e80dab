// Section "chain-profile" (issue 17): where a 3-copy chained put spends CPU and makes garbage, per
// node process. One single-node put of the same file first (the ratio's reference), then a 3-copy
// put on 3 local nodes: CPU-seconds per GB of file for the owner and each holder (/proc, all
// threads), full GCs per 256 MiB on each holder (prom-client's GC observer on /metrics). Then a
// capability get of that file on a 4th node that holds nothing, against a get on the single node:
// its speed ratio and CPU-s per GB per process (reader, owner, holders).
// `npm run bench -- chain-profile --repeat 3 --no-big --size 128`
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256File } from './lib/files.ts'
import { joinNode, waitForPeers } from './replication.ts'
import { max, mbps, median, MiB, min } from './lib/stats.ts'
import type { NodeProc } from './lib/node-proc.ts'
import type { BenchContext, RandomFile } from './lib/types.ts'

export const title = 'chain-profile: CPU-s per GB and full GCs per node process in a 3-copy chained put'

const GB = 1e9

/** Collections of `kind` so far, from the node's /metrics (prom-client's GC observer). */
async function gcCount (node: NodeProc, kind: 'major' | 'minor'): Promise<number> {
  const text = await (await fetch(new URL('/metrics', node.apiUrl))).text()
  const line = text.split('\n').find(l => l.startsWith('distri_vault_nodejs_gc_duration_seconds_count{') && l.includes(`kind="${kind}"`))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

interface Round {
  pids: number[]
  singleCpu: number
  singleSeconds: number
  seconds: number
  cpu: number[]
  majors: number[]
  minors: number[]
  /** CPU-seconds of this process storing one copy of the file's bytes as a holder does (storeOneCopy). */
  oneCopyCpu: number
  singleGetCpu: number
  singleGetSeconds: number
  capGetSeconds: number
  /** Bytes the reader read during the capability get, per byte of file. */
  capGetReadPerByte: number
  /** Peak RSS (MiB) of the owner, holder b, holder c and the reader, after the cap get. */
  peakRss: number[]
  /** CPU-s of the capability get: reader (4th node), owner, holder b, holder c. */
  capGetCpu: number[]
}

/** Gets `ref` through `node` into a scratch file, checks its bytes, returns the wall seconds. */
async function timedGet (ctx: BenchContext, ref: string, node: NodeProc, file: RandomFile): Promise<number> {
  const out = join(ctx.workDir, `chain-profile-get-${Date.now()}.bin`)
  const { seconds } = await ctx.runCli(['get', ref, '-o', out, '--data', node.dataDir])
  const same = await sha256File(out) === file.sha256
  await rm(out, { force: true })
  if (!same) throw new Error('a get returned different bytes')
  return seconds
}

/**
 * BENCH_PERF=1 (with DV_NODE_FLAGS='--max-semi-space-size=8 --perf-basic-prof'): perf records each
 * of `nodes` until the returned function is called, into bench's keep dir (perf-<name>.data).
 */
async function perfRecord (ctx: BenchContext, nodes: NodeProc[], names: string[]): Promise<() => Promise<void>> {
  if (process.env.BENCH_PERF !== '1') return async () => {}
  await mkdir(ctx.keepDir, { recursive: true })
  // Each exit is awaited from the start: a perf that fails at once must not leave us waiting.
  const exits = nodes.map((n, i) => {
    const p = spawn('perf', ['record', '-e', 'cpu-clock', '-g', '-p', String(n.pid), '-o', join(ctx.keepDir, `perf-${names[i]}.data`)], { stdio: 'ignore' })
    return { p, exited: new Promise(resolve => { p.once('exit', resolve); p.once('error', resolve) }) }
  })
  return async () => {
    for (const { p } of exits) p.kill('SIGINT')
    await Promise.all(exits.map(async e => await e.exited))
  }
}

/** Bytes the process has read through read() syscalls (/proc/PID/io `rchar`): sockets and files. A
 * reader that holds nothing reads its peers' replies; more than the file means duplicate fetches. */
async function readBytes (node: NodeProc): Promise<number> {
  const io = await readFile(`/proc/${node.pid}/io`, 'utf8')
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? Number.NaN)
}

/** Peak resident memory of the process so far (/proc/PID/status `VmHWM`), MiB. */
async function peakRssMiB (node: NodeProc): Promise<number> {
  const status = await readFile(`/proc/${node.pid}/status`, 'utf8')
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) / 1024
}

/**
 * The machine's own cost of keeping one copy of `bytes` on disk, the way a holder keeps a chunk:
 * 1 MiB files, each a temp file written, fsynced and renamed into a two-level folder that is then
 * fsynced, all synchronous in this process (no network, no crypto, no JavaScript per byte).
 * CPU-seconds of this process (user + system), which is otherwise idle meanwhile. On this VM the
 * kernel's page-cache copy into pages it has not touched lately is most of it (`dd` of 1 GiB:
 * 1.86 s of system time the first time, 0.40 the second), so it is measured in the same run as the
 * put whose three copies pay it.
 */
async function storeOneCopy (ctx: BenchContext, bytes: number): Promise<number> {
  const dir = await ctx.tempDir('one-copy-')
  const chunk = randomBytes(MiB)
  const before = process.cpuUsage()
  for (let i = 0, left = bytes; left > 0; i++, left -= MiB) {
    const folder = join(dir, String(i % 256), String(i >> 8))
    mkdirSync(folder, { recursive: true })
    const tmp = join(dir, `tmp-${i}`)
    const fd = openSync(tmp, 'w')
    writeSync(fd, chunk, 0, Math.min(MiB, left))
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, join(folder, String(i)))
    const dirFd = openSync(folder, 'r')
    fsyncSync(dirFd)
    closeSync(dirFd)
  }
  const used = process.cpuUsage(before)
  await rm(dir, { recursive: true, force: true })
  return (used.user + used.system) / 1e6
}

async function cpuEach (nodes: NodeProc[]): Promise<number[]> {
  return await Promise.all(nodes.map(async n => await n.cpuSeconds()))
}

async function round (ctx: BenchContext, file: RandomFile): Promise<Round> {
  const single = await ctx.startNode({ args: ['--replicas', '1'] })
  const c0 = await single.cpuSeconds()
  const singlePut = await ctx.runCli(['put', file.path, '--name', 'one.bin', '--json', '--data', single.dataDir])
  const singleCpu = (await single.cpuSeconds()) - c0
  const g0 = await single.cpuSeconds()
  const singleGetSeconds = await timedGet(ctx, 'one.bin', single, file)
  const singleGetCpu = (await single.cpuSeconds()) - g0
  await single.stop()
  const a = await joinNode(ctx)
  const b = await joinNode(ctx, a)
  const c = await joinNode(ctx, a)
  const all = [a, b, c]
  try {
    await waitForPeers(ctx, all, 2)
    const cpu0 = await Promise.all(all.map(async n => await n.cpuSeconds()))
    const maj0 = await Promise.all(all.map(async n => await gcCount(n, 'major')))
    const min0 = await Promise.all(all.map(async n => await gcCount(n, 'minor')))
    const perf = await perfRecord(ctx, all, ['owner', 'b', 'c'])
    const put = await ctx.runCli(['put', file.path, '--name', 'three.bin', '--json', '--data', a.dataDir])
    await perf()
    const stored = JSON.parse(put.stdout.trim()) as { replicas: number }
    if (stored.replicas !== 3) throw new Error(`put reached ${stored.replicas} copies, expected 3`)
    const cpu1 = await Promise.all(all.map(async n => await n.cpuSeconds()))
    const maj1 = await Promise.all(all.map(async n => await gcCount(n, 'major')))
    const min1 = await Promise.all(all.map(async n => await gcCount(n, 'minor')))
    const oneCopyCpu = await storeOneCopy(ctx, file.bytes)
    const cap = (await ctx.runCli(['share', 'three.bin', '--data', a.dataDir])).stdout.trim()
    const d = await joinNode(ctx, a)
    let capGetSeconds: number
    let capGetCpu: number[]
    let capGetReadPerByte: number
    let peakRss: number[]
    try {
      await waitForPeers(ctx, [d], 3)
      const before = await cpuEach([d, ...all])
      const read0 = await readBytes(d)
      const perfGet = await perfRecord(ctx, [d, ...all], ['capget-reader', 'capget-owner', 'capget-b', 'capget-c'])
      capGetSeconds = await timedGet(ctx, cap, d, file)
      await perfGet()
      capGetCpu = (await cpuEach([d, ...all])).map((v, i) => v - before[i])
      capGetReadPerByte = (await readBytes(d) - read0) / file.bytes
      peakRss = await Promise.all([...all, d].map(peakRssMiB))
    } finally {
      await d.stop()
    }
    return {
      singleGetCpu,
      singleGetSeconds,
      capGetSeconds,
      capGetCpu,
      capGetReadPerByte,
      peakRss,
      pids: all.map(n => n.pid),
      oneCopyCpu,
      singleCpu,
      singleSeconds: singlePut.seconds,
      seconds: put.seconds,
      cpu: cpu1.map((v, i) => v - cpu0[i]),
      majors: maj1.map((v, i) => v - maj0[i]),
      minors: min1.map((v, i) => v - min0[i])
    }
  } finally {
    await Promise.all(all.map(async n => await n.stop()))
  }
}

export default async function chainProfile (ctx: BenchContext): Promise<Record<string, number>> {
  const file = await ctx.randomFile(ctx.options.fileBytes, 23)
  const rounds: Round[] = []
  for (let i = 0; i < ctx.options.repeat; i++) {
    ctx.log(`chain-profile round ${i + 1}/${ctx.options.repeat}`)
    const r = await round(ctx, file)
    ctx.log(`  pids ${r.pids.join('/')}`)
    ctx.log(`  put3 ${r.seconds.toFixed(1)} s; CPU owner/b/c ${r.cpu.map(v => v.toFixed(1)).join('/')} s; full GCs ${r.majors.join('/')}; minor GCs ${r.minors.join('/')}; one copy on disk ${r.oneCopyCpu.toFixed(2)} CPU-s`)
    ctx.log(`  single get ${r.singleGetSeconds.toFixed(1)} s, ${r.singleGetCpu.toFixed(1)} CPU-s; cap get ${r.capGetSeconds.toFixed(1)} s; CPU reader/owner/b/c ${r.capGetCpu.map(v => v.toFixed(1)).join('/')} s; reader read ${r.capGetReadPerByte.toFixed(2)} bytes per byte of file`)
    ctx.log(`  peak RSS owner/b/c/reader ${r.peakRss.map(v => v.toFixed(0)).join('/')} MiB`)
    rounds.push(r)
  }
  const gbs = file.bytes / GB
  const per256 = file.bytes / (256 * MiB)
  const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0)
  return {
    single_put_cpu_s_per_GB: min(rounds.map(r => r.singleCpu / gbs)),
    put3_cpu_s_per_GB: min(rounds.map(r => sum(r.cpu) / gbs)),
    put3_cpu_s_per_GB_median: median(rounds.map(r => sum(r.cpu) / gbs)),
    owner_cpu_s_per_GB: median(rounds.map(r => r.cpu[0] / gbs)),
    holders_cpu_s_per_GB: median(rounds.map(r => (r.cpu[1] + r.cpu[2]) / gbs)),
    // The same run's reference: what keeping one copy on this machine's disk costs with nothing
    // else (storeOneCopy); a 3-copy put pays it three times whatever the software does.
    one_copy_on_disk_cpu_s_per_GB: median(rounds.map(r => r.oneCopyCpu / gbs)),
    put3_cpu_s_per_GB_beyond_3_disk_copies: median(rounds.map(r => (sum(r.cpu) - 3 * r.oneCopyCpu) / gbs)),
    holder_full_gcs_per_256MiB: median(rounds.flatMap(r => r.majors.slice(1))) / per256,
    holder_full_gcs_max_per_256MiB: max(rounds.flatMap(r => r.majors.slice(1))) / per256,
    owner_full_gcs_per_256MiB: median(rounds.map(r => r.majors[0])) / per256,
    put3_to_single_put_ratio: max(rounds.map(r => mbps(file.bytes, r.seconds))) / max(rounds.map(r => mbps(file.bytes, r.singleSeconds))),
    single_get_cpu_s_per_GB: min(rounds.map(r => r.singleGetCpu / gbs)),
    capget_cpu_s_per_GB: min(rounds.map(r => sum(r.capGetCpu) / gbs)),
    capget_reader_cpu_s_per_GB: median(rounds.map(r => r.capGetCpu[0] / gbs)),
    capget_servers_cpu_s_per_GB: median(rounds.map(r => sum(r.capGetCpu.slice(1)) / gbs)),
    peak_rss_MiB: max(rounds.flatMap(r => r.peakRss)),
    capget_reader_read_per_byte: median(rounds.map(r => r.capGetReadPerByte)),
    capget_to_single_get_ratio: max(rounds.map(r => mbps(file.bytes, r.capGetSeconds))) / max(rounds.map(r => mbps(file.bytes, r.singleGetSeconds)))
  }
}
