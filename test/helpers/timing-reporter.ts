// A node:test reporter that writes how long each test file took, slowest first, as a Markdown
// table (the one in docs/PERFORMANCE.md, "Test suite timing"). A file's time is the sum of its
// top-level tests and suites (hooks included), measured inside its own process: what that file
// costs the suite, whatever else ran beside it. With $DV_TEST_CPU_LOG set and cpu-usage.ts
// preloaded (`npm run test:timing` does both), a second column: the CPU-seconds of the file's
// process and of the processes it spawned and waited for (CLI verbs, node processes).
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./test/helpers/timing-reporter.ts --test-reporter-destination=timing.md "test/**/*.test.ts"
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'

interface TestEvent { type: string, data: { file?: string, nesting: number, details?: { duration_ms?: number } } }

export default async function * timingReporter (source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const perFile = new Map<string, { ms: number, tests: number, failed: number }>()
  const started = Date.now()
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.nesting !== 0 || event.data.file === undefined) continue
    const file = relative(process.cwd(), event.data.file)
    const row = perFile.get(file) ?? { ms: 0, tests: 0, failed: 0 }
    row.ms += event.data.details?.duration_ms ?? 0
    row.tests++
    if (event.type === 'test:fail') row.failed++
    perFile.set(file, row)
  }
  const rows = [...perFile.entries()].sort((a, b) => b[1].ms - a[1].ms)
  const cpu = cpuByFile()
  yield `| Test file | Top-level tests | Seconds |${cpu === undefined ? '' : ' CPU-seconds |'}\n|---|---:|---:|${cpu === undefined ? '' : '---:|'}\n`
  for (const [file, row] of rows) {
    const cpuCell = cpu === undefined ? '' : ` ${cpu.get(file)?.toFixed(1) ?? '?'} |`
    yield `| \`${file}\` | ${row.tests}${row.failed > 0 ? ` (${row.failed} failed)` : ''} | ${(row.ms / 1000).toFixed(1)} |${cpuCell}\n`
  }
  const total = rows.reduce((sum, [, row]) => sum + row.ms, 0)
  const cpuTotal = cpu === undefined ? '' : `; CPU of the test files' process trees: ${[...cpu.values()].reduce((sum, s) => sum + s, 0).toFixed(0)} s`
  yield `\nSum of the files: ${(total / 1000).toFixed(0)} s${cpuTotal}; wall clock of the run: ${((Date.now() - started) / 1000).toFixed(0)} s.\n`
}

/** CPU-seconds per test file from $DV_TEST_CPU_LOG (lines written by cpu-usage.ts), if set. */
function cpuByFile (): Map<string, number> | undefined {
  const log = process.env.DV_TEST_CPU_LOG
  if (log === undefined || log === '') return undefined
  const byFile = new Map<string, number>()
  let text = ''
  try { text = readFileSync(log, 'utf8') } catch {}
  for (const line of text.split('\n')) {
    if (line === '') continue
    const { file, own, children } = JSON.parse(line) as { file: string, own: number, children: number }
    byFile.set(file, (byFile.get(file) ?? 0) + own + children)
  }
  return byFile
}
