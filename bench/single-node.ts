// Section "single-node": one real node process, a 256 MiB random file put and got back through the
// CLI, against the simple-tool limit measured in the same run (interleaved round by round, so a
// noisy neighbour slows both). Also: the node's peak RSS (VmHWM, and VmRSS sampled every 100 ms)
// for the 256 MiB file and a 1 GiB one, the pipeline's stages measured alone (chunker, sealChunk,
// openChunk, storage), and with --cpu-prof a profile of the node during put and during get.
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { sha256File } from './lib/files.ts'
import { apiGet, apiPut } from './lib/http.ts'
import { measureMicro, type MicroResult } from './lib/micro.ts'
import { newestProfile, summariseProfile, type ProfileSummary } from './lib/profile.ts'
import { max, mbps, median, MiB, min, spreadPct } from './lib/stats.ts'
import type { BenchContext, RandomFile, Target } from './lib/types.ts'

export const title = 'single node: put/get through the CLI vs the simple-tool limit'

export const targets: Record<string, Target> = {
  put_ratio: { min: 0.6, note: 'put MB/s ÷ simple-tool seal MB/s (bests of the run)' },
  get_ratio: { min: 0.8, note: 'get MB/s ÷ simple-tool open MB/s (bests of the run)' },
  peak_rss_MiB: { max: 256, note: 'node VmHWM over put + get of the main file' },
  peak_rss_big_MiB: { max: 256, note: 'node VmHWM over put + get of 1 GiB' }
}

const NAME = 'bench.bin'
const MAX_RETRIES = 1
const BIG = 1024 * MiB

interface Round {
  putSeconds: number
  getSeconds: number
  /** `ls --json` against the running node: the CLI's fixed cost per command. */
  cliSeconds: number
  /** The same size of file (other random bytes) through the HTTP API from the bench process, no CLI. */
  apiPutSeconds?: number
  apiGetSeconds?: number
  /** CPU seconds (user + system) of the node and of the CLI process, during put and during get. */
  putNodeCpu: number
  putCliCpu: number
  getNodeCpu: number
  getCliCpu: number
  idleRss: number
  hwmAfterPut: number
  hwm: number
  sampledPeak: number
  /** Highest VmRSS sample in each quarter of the CLI put + get: flat means memory does not grow with the file. */
  rssQuarters: number[]
}

interface RoundOptions { nodeArgs?: string[], cliNodeArgs?: string[], apiFile?: RandomFile }

/**
 * Starts a fresh node, puts `file` and gets it back through the CLI, checks the bytes, then (with
 * `apiFile`, other bytes so nothing dedups) the same through the HTTP API; reads the node's memory, stops it.
 */
async function putGetRound (ctx: BenchContext, file: RandomFile, opts: RoundOptions = {}): Promise<Round> {
  const node = await ctx.startNode({ nodeArgs: opts.nodeArgs })
  const out = join(ctx.workDir, 'got.bin')
  try {
    const idle = await node.memory()
    const cli = await ctx.runCli(['ls', '--json', '--data', node.dataDir])
    const samples: number[] = []
    const stopSampling = node.sampleRss(100, samples)
    const cpu0 = await node.cpuSeconds()
    const put = await ctx.runCli(['put', file.path, '--name', NAME, '--json', '--data', node.dataDir], { nodeArgs: opts.cliNodeArgs, cpu: true })
    const cpu1 = await node.cpuSeconds()
    const stored = JSON.parse(put.stdout.trim().split('\n').pop() ?? '{}') as { size?: number }
    if (stored.size !== file.bytes) throw new Error(`put reported ${stored.size} bytes, expected ${file.bytes}`)
    const afterPut = await node.memory()
    const cpu2 = await node.cpuSeconds()
    const get = await ctx.runCli(['get', NAME, '-o', out, '--json', '--data', node.dataDir], { nodeArgs: opts.cliNodeArgs, cpu: true })
    const cpu3 = await node.cpuSeconds()
    const end = await node.memory()
    const sampledPeak = Math.max(stopSampling(), end.rssBytes)
    const got = await sha256File(out)
    if (got !== file.sha256) throw new Error(`get returned different bytes: sha256 ${got}, expected ${file.sha256}`)
    await rm(out, { force: true })
    const round: Round = {
      putSeconds: put.seconds,
      getSeconds: get.seconds,
      cliSeconds: cli.seconds,
      putNodeCpu: cpu1 - cpu0,
      putCliCpu: put.cpuSeconds ?? NaN,
      getNodeCpu: cpu3 - cpu2,
      getCliCpu: get.cpuSeconds ?? NaN,
      idleRss: idle.rssBytes,
      hwmAfterPut: afterPut.hwmBytes,
      hwm: end.hwmBytes,
      sampledPeak,
      rssQuarters: quarters(samples)
    }
    if (opts.apiFile !== undefined) {
      const f = opts.apiFile
      const stopAgain = node.sampleRss(100)
      round.apiPutSeconds = await apiPut(node.dataDir, f.path, f.bytes, 'bench-api.bin')
      round.apiGetSeconds = await apiGet(node.dataDir, 'bench-api.bin', out)
      const last = await node.memory()
      round.hwm = last.hwmBytes
      round.sampledPeak = Math.max(round.sampledPeak, stopAgain(), last.rssBytes)
      const gotApi = await sha256File(out)
      if (gotApi !== f.sha256) throw new Error(`API get returned different bytes: sha256 ${gotApi}, expected ${f.sha256}`)
    }
    return round
  } catch (err) {
    const exit = node.unexpectedExit()
    throw new Error(`${err instanceof Error ? err.message : String(err)}${exit === undefined ? '' : `\n(${exit})`}\n--- node stderr (tail) ---\n${node.stderrTail()}`, { cause: err })
  } finally {
    await rm(out, { force: true })
    await node.stop()
    await rm(node.dataDir, { recursive: true, force: true })
  }
}

function quarters (samples: number[]): number[] {
  const q = Math.max(1, Math.ceil(samples.length / 4))
  return [0, 1, 2, 3].map((i) => Math.max(0, ...samples.slice(i * q, (i + 1) * q)))
}

/** Profiles the node (and the CLI) during a put, then, restarted on the same data, during a get. */
async function profileRound (ctx: BenchContext, file: RandomFile): Promise<{ put: ProfileSummary, get: ProfileSummary, cliPut?: ProfileSummary, dir: string }> {
  const dir = join(ctx.keepDir, `profile-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  const dirs = { put: join(dir, 'node-put'), get: join(dir, 'node-get'), cliPut: join(dir, 'cli-put') }
  for (const d of Object.values(dirs)) await mkdir(d, { recursive: true })
  const dataDir = await ctx.tempDir('node-prof')
  const out = join(ctx.workDir, 'got-prof.bin')
  try {
    let node = await ctx.startNode({ dataDir, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dirs.put] })
    await ctx.runCli(['put', file.path, '--name', NAME, '--json', '--data', dataDir], { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dirs.cliPut] })
    await node.stop()
    node = await ctx.startNode({ dataDir, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dirs.get] })
    await ctx.runCli(['get', NAME, '-o', out, '--json', '--data', dataDir])
    await node.stop()
  } finally {
    await rm(out, { force: true })
    await rm(dataDir, { recursive: true, force: true })
  }
  const summary = async (d: string): Promise<ProfileSummary> => {
    const f = await newestProfile(d)
    if (f === undefined) throw new Error(`no .cpuprofile was written in ${d}`)
    return await summariseProfile(f)
  }
  const cliFile = await newestProfile(dirs.cliPut)
  return { put: await summary(dirs.put), get: await summary(dirs.get), cliPut: cliFile === undefined ? undefined : await summariseProfile(cliFile), dir }
}

function printProfile (ctx: BenchContext, label: string, p: ProfileSummary): void {
  ctx.table(`${label}: ${Math.round(p.busyMs)} ms busy of ${Math.round(p.totalMs)} ms on the main thread (${p.file})`, ['area', 'self ms', '% of busy'],
    p.areas.slice(0, 10).map((a) => [a.area, Math.round(a.ms), a.ms / p.busyMs * 100]))
  ctx.table(`${label}: top functions by self time`, ['function', 'area', 'self ms', '% of busy'],
    p.functions.slice(0, 12).map((f) => [f.fn.slice(0, 90), f.area, Math.round(f.ms), f.ms / p.busyMs * 100]))
}

/** Best of each micro metric over the rounds (highest MB/s, lowest ms). */
function bestMicro (runs: MicroResult[]): MicroResult {
  const pick = (k: keyof MicroResult, lowIsGood: boolean): number => (lowIsGood ? min : max)(runs.map((r) => r[k]))
  return {
    chunks: runs[0].chunks,
    avgChunkBytes: runs[0].avgChunkBytes,
    chunkerMBps: pick('chunkerMBps', false),
    sealChunkMBps: pick('sealChunkMBps', false),
    sealChunk4MBps: pick('sealChunk4MBps', false),
    rawCryptoMBps: pick('rawCryptoMBps', false),
    openChunkMBps: pick('openChunkMBps', false),
    openChunk4MBps: pick('openChunk4MBps', false),
    writeNoSyncMs: pick('writeNoSyncMs', true),
    writeFsyncMs: pick('writeFsyncMs', true),
    storePutMs: pick('storePutMs', true),
    storePut4MBps: pick('storePut4MBps', false),
    storeGetOpen4MBps: pick('storeGetOpen4MBps', false)
  }
}

export default async function singleNode (ctx: BenchContext): Promise<Record<string, number>> {
  const { repeat, fileBytes } = ctx.options
  const file = await ctx.randomFile(fileBytes)
  const apiFile = await ctx.randomFile(fileBytes, 1)
  const mib = (b: number): number => b / MiB
  const gb = fileBytes / 1e9
  const r: Record<string, number> = { file_MiB: mib(fileBytes), rounds: repeat }

  // 1-3. Simple-tool limit and the real node, interleaved round by round.
  const seal: number[] = []
  const open: number[] = []
  const sealCpu: number[] = []
  const openCpu: number[] = []
  const rounds: Round[] = []
  let retries = 0
  for (let i = 1; i <= repeat; i++) {
    const limit = await ctx.simpleTool(file)
    seal.push(mbps(limit.bytes, limit.sealSeconds))
    open.push(mbps(limit.bytes, limit.openSeconds))
    sealCpu.push(limit.sealCpuSeconds)
    openCpu.push(limit.openCpuSeconds)
    let round: Round
    try {
      round = await putGetRound(ctx, file, { apiFile })
    } catch (err) {
      // The machine is shared: a round that fails for an outside reason gets one more try, on record.
      if (retries >= MAX_RETRIES) throw err
      retries++
      ctx.log(`round ${i} failed, retrying it once: ${err instanceof Error ? err.message : String(err)}`)
      round = await putGetRound(ctx, file, { apiFile })
    }
    rounds.push(round)
    ctx.log(`round ${i}/${repeat}: limit seal ${seal[i - 1].toFixed(0)} MB/s, open ${open[i - 1].toFixed(0)} MB/s; ` +
      `put ${mbps(fileBytes, round.putSeconds).toFixed(0)} MB/s, get ${mbps(fileBytes, round.getSeconds).toFixed(0)} MB/s; peak RSS ${mib(round.hwm).toFixed(0)} MiB`)
  }
  const put = rounds.map((x) => mbps(fileBytes, x.putSeconds))
  const get = rounds.map((x) => mbps(fileBytes, x.getSeconds))
  const putRatios = put.map((p, i) => p / seal[i])
  const getRatios = get.map((g, i) => g / open[i])
  const apiPut = rounds.map((x) => mbps(fileBytes, x.apiPutSeconds ?? Infinity))
  const apiGet = rounds.map((x) => mbps(fileBytes, x.apiGetSeconds ?? Infinity))
  // The fixed start-up cost of any process running Node, and of the CLI (it loads before it sends a byte).
  const bare: number[] = []
  const version: number[] = []
  for (let i = 0; i < Math.max(3, repeat); i++) {
    bare.push((await ctx.runNode(['-e', '0'])).seconds)
    version.push((await ctx.runCli(['--version'])).seconds)
  }
  Object.assign(r, {
    round_retries: retries,
    limit_seal_MBps: max(seal),
    limit_seal_spread_pct: spreadPct(seal),
    limit_open_MBps: max(open),
    limit_open_spread_pct: spreadPct(open),
    put_MBps: max(put),
    put_spread_pct: spreadPct(put),
    put_ratio: max(put) / max(seal),
    put_ratio_round_min: min(putRatios),
    put_ratio_round_max: max(putRatios),
    get_MBps: max(get),
    get_spread_pct: spreadPct(get),
    get_ratio: max(get) / max(open),
    get_ratio_round_min: min(getRatios),
    get_ratio_round_max: max(getRatios),
    api_put_MBps: max(apiPut),
    api_put_ratio: max(apiPut) / max(seal),
    api_get_MBps: max(apiGet),
    api_get_ratio: max(apiGet) / max(open),
    node_startup_ms: min(bare) * 1000,
    cli_version_ms: min(version) * 1000,
    cli_ls_ms: min(rounds.map((x) => x.cliSeconds)) * 1000,
    // CPU seconds per GB (10^9 bytes), lowest of the rounds: the work done, which a busy machine
    // changes far less than wall time. cpu_ratio = simple tool's CPU ÷ (node + CLI) CPU.
    limit_seal_cpu_s_per_GB: min(sealCpu) / gb,
    put_node_cpu_s_per_GB: min(rounds.map((x) => x.putNodeCpu)) / gb,
    put_cli_cpu_s_per_GB: min(rounds.map((x) => x.putCliCpu)) / gb,
    put_cpu_ratio: min(sealCpu) / min(rounds.map((x) => x.putNodeCpu + x.putCliCpu)),
    limit_open_cpu_s_per_GB: min(openCpu) / gb,
    get_node_cpu_s_per_GB: min(rounds.map((x) => x.getNodeCpu)) / gb,
    get_cli_cpu_s_per_GB: min(rounds.map((x) => x.getCliCpu)) / gb,
    get_cpu_ratio: min(openCpu) / min(rounds.map((x) => x.getNodeCpu + x.getCliCpu)),
    rss_idle_MiB: mib(median(rounds.map((x) => x.idleRss))),
    peak_rss_after_put_MiB: mib(max(rounds.map((x) => x.hwmAfterPut))),
    peak_rss_MiB: mib(max(rounds.map((x) => x.hwm))),
    rss_sampled_peak_MiB: mib(max(rounds.map((x) => x.sampledPeak)))
  })
  ctx.table(`single node, ${mib(fileBytes)} MiB random file, per round (MB = 10^6 bytes)`,
    ['round', 'limit seal MB/s', 'put MB/s', 'put ratio', 'API put MB/s', 'limit open MB/s', 'get MB/s', 'get ratio', 'API get MB/s', 'idle RSS MiB', 'peak RSS MiB'],
    rounds.map((x, i) => [i + 1, seal[i], put[i], putRatios[i], apiPut[i], open[i], get[i], getRatios[i], apiGet[i], mib(x.idleRss), mib(x.hwm)]))
  ctx.table('CPU seconds per GB, user + system (lowest of the rounds; less sensitive to a busy machine than MB/s)', ['operation', 'node', 'CLI', 'total', 'simple tool', 'ratio'], [
    ['put', r.put_node_cpu_s_per_GB, r.put_cli_cpu_s_per_GB, r.put_node_cpu_s_per_GB + r.put_cli_cpu_s_per_GB, r.limit_seal_cpu_s_per_GB, r.put_cpu_ratio],
    ['get', r.get_node_cpu_s_per_GB, r.get_cli_cpu_s_per_GB, r.get_node_cpu_s_per_GB + r.get_cli_cpu_s_per_GB, r.limit_open_cpu_s_per_GB, r.get_cpu_ratio]
  ])
  ctx.table('fixed cost per CLI command (best)', ['what', 'ms'], [
    ['node -e 0 (bare Node start)', r.node_startup_ms],
    ['distri-vault --version (loads the CLI)', r.cli_version_ms],
    ['distri-vault ls --json (load + one API call)', r.cli_ls_ms]
  ])

  // Stages alone, on the product's own code.
  const micro: MicroResult[] = []
  for (let i = 0; i < repeat; i++) micro.push(await measureMicro(ctx.repoRoot, file.path, ctx.workDir))
  const m = bestMicro(micro)
  // With a synchronous sealChunk, put runs chunker and sealChunk one after the other on the node's
  // main thread: their harmonic sum is the most that thread can do, before any HTTP or disk work.
  const putMainThreadModel = 1 / (1 / m.chunkerMBps + 1 / m.sealChunkMBps)
  Object.assign(r, {
    chunks: m.chunks,
    avg_chunk_KiB: m.avgChunkBytes / 1024,
    chunker_MBps: m.chunkerMBps,
    sealChunk_MBps: m.sealChunkMBps,
    sealChunk_4inflight_MBps: m.sealChunk4MBps,
    raw_crypto_MBps: m.rawCryptoMBps,
    chunker_plus_seal_MBps: putMainThreadModel,
    openChunk_MBps: m.openChunkMBps,
    openChunk_4inflight_MBps: m.openChunk4MBps,
    write_nosync_ms_per_chunk: m.writeNoSyncMs,
    write_fsync_ms_per_chunk: m.writeFsyncMs,
    store_put_ms_per_chunk: m.storePutMs,
    store_put_4inflight_MBps: m.storePut4MBps,
    store_get_open_4inflight_MBps: m.storeGetOpen4MBps
  })
  ctx.table('stages alone (best of the rounds; same file, product code from src/)', ['stage', 'value', 'unit'], [
    ['chunker (chunkStream, 64 KiB input pieces)', m.chunkerMBps, 'MB/s'],
    ['sealChunk (sha256 + hkdf + gcm + sha256), one at a time', m.sealChunkMBps, 'MB/s'],
    ['sealChunk, 4 in flight', m.sealChunk4MBps, 'MB/s'],
    ['raw crypto (sha256 + gcm + sha256, same chunks, sync)', m.rawCryptoMBps, 'MB/s'],
    ['chunker then sealChunk one at a time (model)', putMainThreadModel, 'MB/s'],
    ['openChunk (sha256 verify + gcm open), one at a time', m.openChunkMBps, 'MB/s'],
    ['openChunk, 4 in flight', m.openChunk4MBps, 'MB/s'],
    [`chunks / average size`, `${m.chunks} / ${(m.avgChunkBytes / 1024).toFixed(0)} KiB`, ''],
    ['1 MiB blob: write, no fsync', m.writeNoSyncMs, 'ms'],
    ['1 MiB blob: write + fsync', m.writeFsyncMs, 'ms'],
    ['BlobStore.put (write, fsync, rename, dir fsync), sequential', m.storePutMs, 'ms'],
    ['BlobStore.put, 4 in flight (as put.ts)', m.storePut4MBps, 'MB/s'],
    ['BlobStore.get + openChunk, 4 in flight', m.storeGetOpen4MBps, 'MB/s']
  ])

  // Peak RSS with a 1 GiB file.
  if (ctx.options.big) {
    const bigFile = await ctx.randomFile(BIG)
    try {
      const x = await putGetRound(ctx, bigFile)
      Object.assign(r, {
        big_put_MBps: mbps(BIG, x.putSeconds),
        big_get_MBps: mbps(BIG, x.getSeconds),
        peak_rss_big_after_put_MiB: mib(x.hwmAfterPut),
        peak_rss_big_MiB: mib(x.hwm),
        rss_big_sampled_peak_MiB: mib(x.sampledPeak),
        rss_big_q1_MiB: mib(x.rssQuarters[0]),
        rss_big_q2_MiB: mib(x.rssQuarters[1]),
        rss_big_q3_MiB: mib(x.rssQuarters[2]),
        rss_big_q4_MiB: mib(x.rssQuarters[3])
      })
      ctx.log(`1 GiB: put ${r.big_put_MBps.toFixed(0)} MB/s, get ${r.big_get_MBps.toFixed(0)} MB/s, peak RSS ${r.peak_rss_big_MiB.toFixed(0)} MiB`)
    } finally {
      await rm(bigFile.path, { force: true })
    }
  }

  if (ctx.options.cpuProf) {
    ctx.log('profiling one extra (unmeasured) round: node --cpu-prof during put, then during get')
    const p = await profileRound(ctx, file)
    printProfile(ctx, 'node during put', p.put)
    printProfile(ctx, 'node during get', p.get)
    if (p.cliPut !== undefined) printProfile(ctx, 'CLI process during put', p.cliPut)
    ctx.log(`profiles kept in ${p.dir} (open them in Chrome DevTools → Performance)`)
    r.prof_put_busy_ms = p.put.busyMs
    r.prof_put_total_ms = p.put.totalMs
    r.prof_get_busy_ms = p.get.busyMs
    r.prof_get_total_ms = p.get.totalMs
  }
  return r
}
