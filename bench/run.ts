// `npm run bench [-- SECTION… --repeat N --big|--no-big --quick --cpu-prof]`
//
// Runs the benchmark sections named on the command line, or all of them. A section is any module
// bench/<name>.ts (other than this file) whose default export is
//   (ctx: BenchContext) => Promise<Record<string, number>>
// optionally with `export const title = '…'` and `export const targets = { metric: { min, max } }`.
// Sections are found by listing bench/, so adding one is adding its file. Each section's numbers
// are printed as a table (targets marked) and all of them end up in one JSON line on stdout.
// Progress goes to stderr. Scratch files live in .bench/run-*/ and are removed at the end, and
// every node process started is stopped, also after a failure or Ctrl-C.
import { execFileSync } from 'node:child_process'
import { readdir, readFile, stat } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createContext, type OwnedContext } from './lib/context.ts'
import { fmt, MiB, round } from './lib/stats.ts'
import type { BenchOptions, SectionModule, Target } from './lib/types.ts'

const BENCH_DIR = dirname(fileURLToPath(import.meta.url))
const REPO = dirname(BENCH_DIR)
/** Sections run in this order when present; any other bench/*.ts section runs after them. */
const ORDER = ['single-node', 'net', 'replication']
/** Disk the 1 GiB run needs: the file, the node's sealed copy, the file got back, and margin. */
const BIG_RUN_BYTES = 5 * 1024 * MiB

const USAGE = `usage: npm run bench [-- [SECTION…] [--repeat N] [--big|--no-big] [--quick] [--cpu-prof] [--size MiB]]
  SECTION      one of the modules in bench/ (default: all)
  --repeat N   rounds of each measurement (default 3, env BENCH_REPEAT); best and spread are reported
  --big        also put/get a 1 GiB file for peak RSS (env BENCH_BIG=1); default on when the disk has room
  --no-big     skip it (BENCH_BIG=0)
  --quick      --repeat 1 --no-big
  --cpu-prof   one extra round with the node under --cpu-prof; prints where its time goes (env BENCH_CPU_PROF=1)
  --size MiB   size of the main test file (default 256)
  env BENCH_DIR  scratch folder (default .bench/ in the repo; use the disk the data dir would be on)`

interface Args { sections: string[], options: Omit<BenchOptions, 'big'> & { big?: boolean } }

function parseArgs (argv: string[]): Args {
  const env = process.env
  const options: Args['options'] = {
    repeat: env.BENCH_REPEAT !== undefined ? Number(env.BENCH_REPEAT) : 3,
    big: env.BENCH_BIG === undefined ? undefined : env.BENCH_BIG === '1',
    fileBytes: 256 * MiB,
    cpuProf: env.BENCH_CPU_PROF === '1'
  }
  const sections: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--help' || a === '-h') { process.stdout.write(USAGE + '\n'); process.exit(0) }
    else if (a === '--repeat') options.repeat = Number(argv[++i])
    else if (a === '--big') options.big = true
    else if (a === '--no-big') options.big = false
    else if (a === '--quick') { options.repeat = 1; options.big = false }
    else if (a === '--cpu-prof') options.cpuProf = true
    else if (a === '--size') options.fileBytes = Number(argv[++i]) * MiB
    else if (a.startsWith('-')) usageError(`unknown option ${a}`)
    else sections.push(a)
  }
  if (!Number.isInteger(options.repeat) || options.repeat < 1) usageError('--repeat needs a whole number >= 1')
  if (!Number.isInteger(options.fileBytes) || options.fileBytes < MiB) usageError('--size needs a whole number of MiB >= 1')
  return { sections, options }
}

function usageError (message: string): never {
  process.stderr.write(`error: ${message}\n${USAGE}\n`)
  process.exit(2)
}

/** bench/*.ts with a default export (a section), in ORDER first. The others are scripts run on
 * their own (chain-uplink.ts: a lab run with its own flags): importing one would run it. */
async function discoverSections (): Promise<string[]> {
  const self = basename(fileURLToPath(import.meta.url))
  const files = (await readdir(BENCH_DIR)).filter((f) => f.endsWith('.ts') && f !== self && !f.endsWith('.d.ts'))
  const sections = []
  for (const f of files) if (/^export default /m.test(await readFile(join(BENCH_DIR, f), 'utf8'))) sections.push(f)
  const names = sections.map((f) => f.slice(0, -3))
  const rank = (n: string): number => ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
}

async function loadSection (name: string): Promise<SectionModule> {
  const file = join(BENCH_DIR, `${name}.ts`)
  const mod = await import(pathToFileURL(file).href) as Partial<SectionModule>
  if (typeof mod.default !== 'function') throw new Error(`bench/${name}.ts has no default export (ctx) => Promise<Record<string, number>>`)
  return mod as SectionModule
}

/** The commit measured, "+dirty" when src/ has uncommitted changes (others edit it concurrently). */
function revision (): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO, encoding: 'utf8' }).trim() !== ''
    return dirty ? `${head}+dirty` : head
  } catch {
    return 'unknown'
  }
}

function verdict (value: number | undefined, target: Target | undefined): string {
  if (target === undefined) return ''
  const bound = [target.min !== undefined ? `>= ${fmt(target.min)}` : '', target.max !== undefined ? `< ${fmt(target.max)}` : ''].filter(Boolean).join(' and ')
  if (value === undefined) return `${bound}  (not measured)`
  const ok = (target.min === undefined || value >= target.min) && (target.max === undefined || value < target.max)
  return `${bound}  ${ok ? 'met' : 'MISSED'}`
}

async function main (): Promise<number> {
  const major = Number(process.versions.node.split('.')[0])
  if (major < 23) {
    process.stderr.write(`error: the bench needs Node >= 23.6 (it runs .ts directly); this is ${process.version}. Run it as "npm run bench".\n`)
    return 1
  }
  const { sections: asked, options } = parseArgs(process.argv.slice(2))
  const available = await discoverSections()
  for (const name of asked) if (!available.includes(name)) usageError(`no section "${name}" (have: ${available.join(', ')})`)
  const names = asked.length > 0 ? asked : available
  await stat(join(REPO, 'dist', 'cli', 'main.js')).catch(() => usageError('dist/cli/main.js is missing: run "npm run build" first (npm run bench does)'))

  const big = options.big ?? true
  const ctx: OwnedContext = await createContext(REPO, { ...options, big })
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n[bench] ${signal}: cleaning up\n`)
    ctx.cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // A stray rejection (a section forgot an await, or code under test threw off-stack) must still
  // stop the nodes and remove the scratch files.
  const onCrash = (err: unknown): void => {
    process.stderr.write(`\n[bench] crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
    ctx.cleanup().finally(() => process.exit(1))
  }
  process.once('unhandledRejection', onCrash)
  process.once('uncaughtException', onCrash)

  const loadStart = loadavg()[0]
  const commit = revision()
  const results: Record<string, Record<string, number>> = {}
  const failures: string[] = []
  try {
    if (options.big === undefined) {
      const free = await ctx.freeBytes()
      ctx.options.big = free >= BIG_RUN_BYTES
      if (!ctx.options.big) ctx.log(`skipping the 1 GiB run: ${fmt(free / 2 ** 30)} GiB free, ${fmt(BIG_RUN_BYTES / 2 ** 30)} GiB needed`)
    }
    const cpu = cpus()[0]?.model ?? 'unknown'
    ctx.log(`commit ${commit}, node ${process.version}, ${availableParallelism()} cores (${cpu}), ${fmt(totalmem() / 2 ** 30)} GiB RAM; sections: ${names.join(', ')}; repeat ${ctx.options.repeat}; big ${ctx.options.big}`)
    for (const name of names) {
      const started = performance.now()
      try {
        const mod = await loadSection(name)
        ctx.log(`section ${name}`)
        const values = await mod.default(ctx)
        results[name] = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round(v)]))
        const targets = mod.targets ?? {}
        const keys = [...new Set([...Object.keys(values), ...Object.keys(targets)])]
        ctx.table(`${mod.title ?? name} — all numbers (${fmt((performance.now() - started) / 1000)} s)`, ['metric', 'value', 'target'],
          keys.map((k) => [k, values[k] ?? '', verdict(values[k], targets[k])]))
      } catch (err) {
        failures.push(name)
        process.stderr.write(`[bench] section ${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
      }
    }
  } finally {
    await ctx.cleanup()
  }
  const meta = { commit, node: process.version, cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', ramGiB: round(totalmem() / 2 ** 30, 1), repeat: ctx.options.repeat, big: ctx.options.big, fileMiB: options.fileBytes / MiB, loadavg1Start: round(loadStart, 2), loadavg1End: round(loadavg()[0], 2), at: new Date().toISOString() }
  process.stdout.write('\n' + JSON.stringify({ bench: 'distri-vault', ...meta, failed: failures, results }) + '\n')
  return failures.length === 0 ? 0 : 1
}

// Exit explicitly: a section that left a handle open must not keep the bench alive after its report.
process.exit(await main())
