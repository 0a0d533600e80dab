// CLI tests run dist/, the build of src/: a test must never pass or fail on yesterday's build.
// Every src/**/*.ts must have its dist/**/*.js written no earlier than the source was last changed
// (tsc rewrites every output on each build); else the test file fails at once, saying why.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The sources whose build output is missing or older than they are (paths relative to src/). */
export function staleBuildOutputs (root = ROOT): string[] {
  const src = join(root, 'src')
  const stale: string[] = []
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue
    const built = join(root, 'dist', file.replace(/\.ts$/, '.js'))
    let builtAt: number
    try {
      builtAt = statSync(built).mtimeMs
    } catch {
      stale.push(file)
      continue
    }
    if (statSync(join(src, file)).mtimeMs > builtAt) stale.push(file)
  }
  return stale
}

export function assertFreshBuild (root = ROOT): void {
  const stale = staleBuildOutputs(root)
  if (stale.length === 0) return
  throw new Error(`dist/ is older than src/ (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? `, … ${stale.length} files` : ''}): run "npm run build" before the CLI tests (npm test does)`)
}
