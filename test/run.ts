// The suite's runner (`npm test`, `npm run test:timing`): every test/**/*.test.ts, one process per
// file as `node --test` runs them, but the slowest files first. `node --test` sorts its files by
// path, which put kill-loop and hung-holder (test/reliability/, about a minute each) at the very
// end, running alone while the other slot idled. Options:
//   DV_TEST_CONCURRENCY  files at once (default 3: docs/DECISIONS.md, "The suite's runner")
//   --timing             also writes test-timing.md (timing-reporter.ts) with each file's
//                        CPU-seconds (cpu-usage.ts preloaded into each file's process)
//   FILE...              only these files (in this order), instead of the whole suite
import { run } from 'node:test'
import { spec } from 'node:test/reporters'
import { createWriteStream, globSync } from 'node:fs'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'
import timingReporter from './helpers/timing-reporter.ts'

/** The slowest files of the suite's last timing (docs/PERFORMANCE.md), slowest first: started first. */
const SLOWEST_FIRST = [
  'test/reliability/hung-holder.test.ts',
  'test/net/dht-replication.test.ts',
  'test/net/dht.test.ts',
  'test/replication/hung-holder-cli.test.ts',
  'test/cli/start-signals.test.ts',
  'test/reliability/kill-loop.test.ts',
  'test/cli/network.test.ts',
  'test/dashboard/dashboard.test.ts',
  'test/cli/cli.test.ts',
  'test/cli/dht.test.ts',
  'test/node/crash.test.ts',
  'test/reliability/full-disk.test.ts',
  'test/cli/put-shortfall.test.ts',
  'test/replication/swarm.test.ts',
  'test/files/tree.test.ts',
  'test/dashboard/files-live.test.ts',
  'test/net/nat.test.ts'
]

const args = process.argv.slice(2)
const timing = args.includes('--timing')
const named = args.filter(a => !a.startsWith('--'))
const all = globSync('test/**/*.test.ts').sort()
const rank = (file: string): number => { const i = SLOWEST_FIRST.indexOf(file); return i === -1 ? SLOWEST_FIRST.length : i }
const files = named.length > 0 ? named : all.sort((a, b) => rank(a) - rank(b))
const concurrency = Number(process.env.DV_TEST_CONCURRENCY ?? 3)

const stream = run({
  files,
  concurrency,
  timeout: 180_000,
  execArgv: timing ? ['--import', fileURLToPath(new URL('./helpers/cpu-usage.ts', import.meta.url))] : []
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
