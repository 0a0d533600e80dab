// The suite's runner (`npm test`, `npm run test:timing`): every test/**/*.test.ts, the slowest
// files first, each in a process of its own, and the many light files together in a few shared
// processes (the shards, see withShards). `node --test` sorts its files by path, which put
// kill-loop and hung-holder (test/reliability/, about a minute each) at the very end, running
// alone while the other slot idled. Options:
//   DV_TEST_CONCURRENCY  processes at once (default 4: docs/DECISIONS.md, "The suite's runner")
//   DV_TEST_SHARDS       processes the light files share (default 4; 0: one process per file)
//   --timing             one process per file, and writes test-timing.md (timing-reporter.ts)
//                        with each file's CPU-seconds (cpu-usage.ts preloaded into each process)
//   FILE...              only these files (in this order, one process each), not the whole suite
import { run } from 'node:test'
import { spec } from 'node:test/reporters'
import { createWriteStream, globSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import timingReporter from './helpers/timing-reporter.ts'

const SHARDS = '(the shards)'

/**
 * Files that run in a process of their own, slowest first (they start first): the CLI files and
 * those with node processes or browsers that take more than ~4.5 s, and the in-process files that
 * take more than ~8 s, in the idle timing of 2026-12-01 (docs/PERFORMANCE.md, "The suite,
 * 2026-12-01"). `SHARDS` marks where the shards of the other files start: after the files that
 * take longer than a shard (~40 s idle).
 */
const OWN_PROCESS = [
  'test/reliability/hung-holder.test.ts',
  'test/dashboard/dashboard.test.ts',
  'test/replication/hung-holder-cli.test.ts',
  SHARDS,
  'test/net/nat.test.ts',
  'test/net/reachability.test.ts',
  'test/net/dht.test.ts',
  'test/net/dht-replication.test.ts',
  'test/dashboard/files-live.test.ts',
  'test/replication/swarm.test.ts',
  'test/node/crash.test.ts',
  'test/cli/dht.test.ts',
  'test/replication/vault-replication.test.ts',
  'test/cli/start-signals.test.ts',
  'test/files/tree.test.ts',
  'test/replication/audit-timeout.test.ts',
  'test/cli/sync.test.ts',
  'test/cli/cli.test.ts',
  'test/reliability/full-disk.test.ts',
  'test/cli/network.test.ts',
  'test/replication/chain.test.ts',
  'test/reliability/kill-loop.test.ts',
  'test/dashboard/jobs-live.test.ts',
  'test/cli/local-files.test.ts',
  'test/cli/folders.test.ts',
  'test/cli/versions.test.ts',
  'test/net/dht-starved.test.ts',
  'test/cli/put-shortfall.test.ts',
  'test/cli/messaging.test.ts',
  'test/cli/user-edges.test.ts',
  'test/cli/terminal.test.ts',
  'test/cli/startup-cost.test.ts'
]

/**
 * Light files that still need a process of their own: what they assert on is the process itself.
 * (A file with root-level before/after hooks gets one too, found by ownHooks: in a shared process
 * those hooks would run around every file's tests.)
 */
const ALONE = [
  'test/store/small-blob-thread.test.ts' // counts the worker threads the process has started
]

const args = process.argv.slice(2)
const timing = args.includes('--timing')
const named = args.filter(a => !a.startsWith('--'))
const all = globSync('test/**/*.test.ts').sort()
const concurrency = Number(process.env.DV_TEST_CONCURRENCY ?? 4)
const shardCount = Number(process.env.DV_TEST_SHARDS ?? 4)
const rank = (file: string): number => { const i = OWN_PROCESS.indexOf(file); return i === -1 ? OWN_PROCESS.length : i }
const slowestFirst = (list: string[]): string[] => list.sort((a, b) => rank(a) - rank(b))

/**
 * The light files (the rest) run in `shardCount` processes, a shard's files one after another:
 * most of a light file's cost was its own process, ~0.2 CPU-s to start node and the harness and
 * ~0.85 CPU-s to load src/ and its ~1,050 modules, more than the tests in it (docs/PERFORMANCE.md,
 * "The suite, 2026-12-01"). A shard is a generated module that imports its files (node:test then
 * runs their top-level tests in turn, as it would in one file); a failure still names the test
 * and its file:line. `--timing` and named files keep one process per file, so that each file's
 * CPU is its own.
 */
function withShards (files: string[]): string[] {
  const alone = [...ALONE, ...files.filter(ownHooks)]
  const own = new Set([...OWN_PROCESS, ...alone])
  const light = files.filter(f => !own.has(f))
  if (shardCount < 1 || light.length === 0) return slowestFirst(files)
  // One folder per run (two suites at once in one checkout must not rewrite each other's shards),
  // removed when the run ends; a killed run's folder goes at the next run.
  const root = fileURLToPath(new URL('../node_modules/.cache/test-shards/', import.meta.url))
  mkdirSync(root, { recursive: true })
  for (const pid of readdirSync(root)) if (!alive(Number(pid))) rmSync(join(root, pid), { recursive: true, force: true })
  const dir = join(root, String(process.pid))
  mkdirSync(dir, { recursive: true })
  process.on('exit', () => { rmSync(dir, { recursive: true, force: true }) })
  const shards: string[] = []
  for (let i = 0; i < Math.min(shardCount, light.length); i++) {
    const mine = light.filter((_, j) => j % shardCount === i)
    const file = join(dir, `shard-${i + 1}-of-${shardCount}.test.mjs`)
    writeFileSync(file, `// ${mine.length} light test files, run in this one process (test/run.ts)\n${mine.map(f => `import ${JSON.stringify(pathToFileURL(resolve(f)).href)}`).join('\n')}\n`)
    shards.push(file)
  }
  const ordered: string[] = []
  for (const entry of OWN_PROCESS) {
    if (entry === SHARDS) ordered.push(...shards)
    else if (files.includes(entry)) ordered.push(entry)
  }
  return [...ordered, ...alone.filter(f => files.includes(f) && !OWN_PROCESS.includes(f))]
}

function alive (pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

/** A root-level before/after/beforeEach/afterEach hook (at the start of a line, as lint formats it). */
function ownHooks (file: string): boolean {
  return /^(before|after|beforeEach|afterEach)\(/m.test(readFileSync(file, 'utf8'))
}

const files = named.length > 0 ? named : timing ? slowestFirst(all) : withShards(all)

const stream = run({
  files,
  concurrency,
  timeout: 180_000,
  execArgv: [
    '--import', fileURLToPath(new URL('./helpers/harness-hook.ts', import.meta.url)),
    ...(timing ? ['--import', fileURLToPath(new URL('./helpers/cpu-usage.ts', import.meta.url))] : [])
  ]
})
// As `node --test`: a failed test (not a todo, not a skip) or a file that failed fails the run.
stream.on('test:fail', (data: { todo?: unknown, skip?: unknown }) => {
  if ((data.todo === undefined || data.todo === false) && (data.skip === undefined || data.skip === false)) process.exitCode = 1
})
// Each reporter reads every event: a PassThrough per reporter, both fed by the one stream.
const toSpec = new PassThrough({ objectMode: true })
stream.pipe(toSpec)
toSpec.compose(spec).pipe(process.stdout)
if (timing) {
  const toTiming = new PassThrough({ objectMode: true })
  stream.pipe(toTiming)
  toTiming.compose(timingReporter).pipe(createWriteStream('test-timing.md'))
}
