// Section "tree": a folder of 10,000 files (log-uniform 1 KiB–1 MiB, nested folders, fixed seed)
// stored with `distri-vault put DIR` on a single node, against the machine's own limit measured in
// the same run: `tar -cf - DIR | openssl enc -aes-256-ctr … > out && sync` (read every file, encrypt
// the bytes, write them durably). Then 1 % of the files change (bytes and mtime) and the tree is
// put again: the re-put must take under a tenth of the first put (issue 19). Every round uses a
// new node and data dir, so nothing dedups across rounds. `BENCH_TREE_FILES=N` for a smaller tree.
import { spawn } from 'node:child_process'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { summariseProfile } from './lib/profile.ts'
import { max, mbps, min, MiB } from './lib/stats.ts'
import { changeFiles, generateTree, type GeneratedTree } from './lib/tree-gen.ts'
import type { BenchContext, Target } from './lib/types.ts'

export const title = 'tree: put of a 10,000-file folder vs tar | openssl enc > file && sync, and the re-put after 1 % changed'
export const targets: Record<string, Target> = {
  reput_over_put: { max: 0.1, note: 'issue 19: re-put after touching 1 % < a tenth of the first put' }
}

const FILES = Number(process.env.BENCH_TREE_FILES ?? 10_000)
const CHANGED = 0.01

async function sh (script: string, cwd: string): Promise<number> {
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (t: string) => { stderr += t })
    child.once('error', reject)
    child.once('close', (code) => code === 0 ? resolve() : reject(new Error(`sh -c '${script}' exited ${code}: ${stderr.trim()}`)))
  })
  return (performance.now() - started) / 1000
}

/** The baseline: the same bytes read, encrypted with AES-256-CTR and written durably, by the usual tools. */
async function tarBaseline (ctx: BenchContext, tree: GeneratedTree): Promise<number> {
  const out = join(ctx.workDir, 'tree.tar.enc')
  await sh('sync', ctx.workDir) // nobody's write-back in the measurement
  try {
    return await sh(`tar -cf - -C '${dirname(tree.root)}' '${basename(tree.root)}' | openssl enc -aes-256-ctr -pass pass:x -pbkdf2 > '${out}' && sync`, ctx.workDir)
  } finally {
    await rm(out, { force: true })
  }
}

interface PutJson { files: number, replicas: number, reused?: number }

async function putTree (ctx: BenchContext, tree: GeneratedTree, dataDir: string, nodeArgs?: string[]): Promise<{ seconds: number, result: PutJson }> {
  const run = await ctx.runCli(['put', tree.root, '--json', '--data', dataDir], { nodeArgs })
  const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as PutJson
  if (result.files !== tree.files.length) throw new Error(`put stored ${result.files} files, expected ${tree.files.length}`)
  return { seconds: run.seconds, result }
}

interface Round { tar: number, put: number, reput: number, reused: number, nodeCpu: number }

async function round (ctx: BenchContext, tree: GeneratedTree, index: number): Promise<Round> {
  const tar = await tarBaseline(ctx, tree)
  const node = await ctx.startNode()
  try {
    await sh('sync', ctx.workDir)
    const cpu0 = await node.cpuSeconds()
    const first = await putTree(ctx, tree, node.dataDir)
    const nodeCpu = await node.cpuSeconds() - cpu0
    const changed = await changeFiles(tree, CHANGED, index)
    await sh('sync', ctx.workDir)
    const again = await putTree(ctx, tree, node.dataDir)
    const reused = again.result.reused ?? Number.NaN
    if (reused > tree.files.length - changed) throw new Error(`re-put reused ${reused} files, but ${changed} of ${tree.files.length} changed`)
    ctx.log(`round ${index + 1}: tar ${tar.toFixed(1)} s, put ${first.seconds.toFixed(1)} s (node CPU ${nodeCpu.toFixed(1)} s), re-put ${again.seconds.toFixed(2)} s (${changed} changed, ${reused} reused)`)
    return { tar, put: first.seconds, reput: again.seconds, reused, nodeCpu }
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- node stderr (tail) ---\n${node.stderrTail()}`, { cause: err })
  } finally {
    await node.stop()
    await rm(node.dataDir, { recursive: true, force: true })
  }
}

/** One unmeasured first put with the node under --cpu-prof; prints where its main thread's time goes. */
async function profile (ctx: BenchContext, tree: GeneratedTree): Promise<void> {
  const dir = join(ctx.keepDir, `profile-tree-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  await mkdir(dir, { recursive: true })
  const node = await ctx.startNode({ nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] })
  try {
    await putTree(ctx, tree, node.dataDir)
  } finally {
    await node.stop()
    await rm(node.dataDir, { recursive: true, force: true })
  }
  // One profile per thread: the main thread's (thread 0; the newest, the first one is the node's
  // launcher re-exec when there is one) and each worker's (sealing, blob writes).
  const names = (await readdir(dir)).filter((n) => n.endsWith('.cpuprofile')).sort()
  const main = names.filter((n) => /\.0\.\d+\.cpuprofile$/.test(n)).pop()
  if (main === undefined) throw new Error(`no .cpuprofile was written in ${dir}`)
  const p = await summariseProfile(join(dir, main))
  ctx.table(`node main thread during a tree put: ${Math.round(p.busyMs)} ms busy of ${Math.round(p.totalMs)} ms (${p.file})`, ['area', 'self ms', '% of busy'],
    p.areas.slice(0, 10).map((a) => [a.area, Math.round(a.ms), a.ms / p.busyMs * 100]))
  ctx.table('node main thread during a tree put: top functions by self time', ['function', 'area', 'self ms', '% of busy'],
    p.functions.slice(0, 12).map((f) => [f.fn.slice(0, 90), f.area, Math.round(f.ms), f.ms / p.busyMs * 100]))
  for (const worker of names.filter((n) => !/\.0\.\d+\.cpuprofile$/.test(n))) {
    const w = await summariseProfile(join(dir, worker), 5)
    ctx.table(`worker ${worker}: ${Math.round(w.busyMs)} ms busy of ${Math.round(w.totalMs)} ms, top functions`, ['function', 'self ms', '% of busy'],
      w.functions.map((f) => [f.fn.slice(0, 90), Math.round(f.ms), f.ms / w.busyMs * 100]))
  }
}

export default async function tree (ctx: BenchContext): Promise<Record<string, number>> {
  const root = join(await ctx.tempDir('tree'), 'tree')
  const started = performance.now()
  const generated = await generateTree(root, { files: FILES, minBytes: 1024, maxBytes: MiB, seed: 'distri-vault bench tree' })
  ctx.log(`generated ${generated.files.length} files, ${(generated.bytes / MiB).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const rounds: Round[] = []
  for (let i = 0; i < ctx.options.repeat; i++) rounds.push(await round(ctx, generated, i))
  if (ctx.options.cpuProf) await profile(ctx, generated)
  const best = (k: keyof Round): number => min(rounds.map((r) => r[k]))
  const n = generated.files.length
  // Ratios per round (each round's put against its own tar), and of the bests.
  const putOverTar = rounds.map((r) => r.tar / r.put)
  const reputOverPut = rounds.map((r) => r.reput / r.put)
  return {
    tree_files: n,
    tree_MiB: generated.bytes / MiB,
    tar_s: best('tar'),
    tar_files_per_s: n / best('tar'),
    tar_MBps: mbps(generated.bytes, best('tar')),
    put_s: best('put'),
    put_files_per_s: n / best('put'),
    put_MBps: mbps(generated.bytes, best('put')),
    put_over_tar: best('tar') / best('put'),
    put_over_tar_round_min: min(putOverTar),
    put_over_tar_round_max: max(putOverTar),
    put_node_cpu_s: best('nodeCpu'),
    reput_s: best('reput'),
    reput_files_reused: min(rounds.map((r) => r.reused)),
    reput_over_put: best('reput') / best('put'),
    reput_over_put_round_max: max(reputOverPut)
  }
}
