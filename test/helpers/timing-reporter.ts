// A node:test reporter that writes how long each test file took, slowest first, as a Markdown
// table (the one in docs/PERFORMANCE.md, "Test suite timing"). A file's time is the sum of its
// top-level tests and suites (hooks included), measured inside its own process: what that file
// costs the suite, whatever else ran beside it.
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./test/helpers/timing-reporter.ts --test-reporter-destination=timing.md "test/**/*.test.ts"
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
  yield '| Test file | Top-level tests | Seconds |\n|---|---:|---:|\n'
  for (const [file, row] of rows) yield `| \`${file}\` | ${row.tests}${row.failed > 0 ? ` (${row.failed} failed)` : ''} | ${(row.ms / 1000).toFixed(1)} |\n`
  const total = rows.reduce((sum, [, row]) => sum + row.ms, 0)
  yield `\nSum of the files: ${(total / 1000).toFixed(0)} s; wall clock of the run: ${((Date.now() - started) / 1000).toFixed(0)} s.\n`
}
