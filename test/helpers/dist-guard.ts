// CLI tests run dist/, the build of src/: a test must never pass or fail on yesterday's build.
// Every src/**/*.ts must have its dist/**/*.js, written (or confirmed by tsc) no earlier than the
// source was last changed, and the CLI's bundle (dist/bundle/, which the CLI tests run:
// scripts/bundle.ts) must be no older than any source; else the test file fails at once, saying
// why. tsc is incremental (tsconfig.json): it rewrites only the outputs whose source changed, so a
// source touched but unchanged keeps an older output; the build then touches
// dist/tsconfig.tsbuildinfo after each tsc that passed, and that time counts as the outputs'.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** The sources whose build output is missing or older than they are (paths relative to src/). */
export function staleBuildOutputs (root = ROOT): string[] {
  const src = join(root, 'src')
  const stale: string[] = []
  let checkedAt = -Infinity
  try { checkedAt = statSync(join(root, 'dist', 'tsconfig.tsbuildinfo')).mtimeMs } catch {}
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
    if (statSync(join(src, file)).mtimeMs > Math.max(builtAt, checkedAt)) stale.push(file)
  }
  return stale
}

/**
 * The sources newer than the CLI's bundle (dist/bundle/meta.json, written last by each build), or
 * every source when there is no bundle (paths relative to src/).
 */
export function staleBundleSources (root = ROOT): string[] {
  const src = join(root, 'src')
  let builtAt: number
  try {
    builtAt = statSync(join(root, 'dist', 'bundle', 'meta.json')).mtimeMs
  } catch {
    builtAt = -Infinity
  }
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter(file => file.endsWith('.ts') && !file.endsWith('.d.ts') && statSync(join(src, file)).mtimeMs > builtAt)
}

export function assertFreshBuild (root = ROOT): void {
  const stale = [...new Set([...staleBuildOutputs(root), ...staleBundleSources(root)])]
  if (stale.length === 0) return
  throw new Error(`dist/ is older than src/ (${stale.slice(0, 5).join(', ')}${stale.length > 5 ? `, … ${stale.length} files` : ''}): run "npm run build" before the CLI tests (npm test does; where an output was deleted by hand, "rm -rf dist && npm run build": tsc, incremental, rebuilds only changed sources)`)
}
