// The BenchContext every section gets: scratch space, shared random files, the simple-tool
// baseline, node processes and CLI runs, all cleaned up at the end of the run whatever happens.
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeRandomFile } from './files.ts'
import { startNodeProcess, type NodeProc, type StartNodeOptions } from './node-proc.ts'
import { measureSimpleTool } from './simple-tool.ts'
import { fmt } from './stats.ts'
import type { BenchContext, BenchOptions, RandomFile, RunResult } from './types.ts'

const CPU_REPORT = fileURLToPath(new URL('./cpu-report.ts', import.meta.url))

export interface OwnedContext extends BenchContext {
  /** Stops every node, runs every cleanup, removes workDir. Safe to call twice. */
  cleanup: () => Promise<void>
}

export async function createContext (repoRoot: string, options: BenchOptions): Promise<OwnedContext> {
  const base = process.env.BENCH_DIR ?? join(repoRoot, '.bench')
  await mkdir(base, { recursive: true })
  const workDir = await mkdtemp(join(base, 'run-'))
  const keepDir = join(base, 'keep')
  const cleanups: Array<() => Promise<void> | void> = []
  const nodes = new Set<NodeProc>()
  const files = new Map<string, Promise<RandomFile>>()
  let cleaned = false
  let cpuReports = 0
  const log = (message: string): void => { process.stderr.write(`[bench] ${message}\n`) }

  const ctx: OwnedContext = {
    repoRoot,
    cli: join(repoRoot, 'dist', 'cli', 'main.js'),
    node: process.execPath,
    workDir,
    keepDir,
    options,
    log,
    async tempDir (prefix) {
      return await mkdtemp(join(workDir, `${prefix}-`))
    },
    async randomFile (bytes, variant = 0) {
      const key = `${bytes}-${variant}`
      let file = files.get(key)
      if (file === undefined) {
        const path = join(workDir, `random-${key}.bin`)
        log(`writing ${fmt(bytes / 2 ** 20)} MiB of random data to ${path}`)
        file = writeRandomFile(path, bytes).then((sha256) => ({ path, bytes, sha256 }))
        files.set(key, file)
      }
      return await file
    },
    async simpleTool (file) {
      return await measureSimpleTool(process.execPath, file.path, workDir)
    },
    async startNode (opts: StartNodeOptions = {}) {
      const dataDir = opts.dataDir ?? await ctx.tempDir('node')
      const node = await startNodeProcess(process.execPath, ctx.cli, dataDir, opts)
      nodes.add(node)
      const stop = node.stop
      node.stop = async (graceMs) => { await stop(graceMs); nodes.delete(node) }
      return node
    },
    async runCli (args, opts = {}) {
      return await ctx.runNode([ctx.cli, ...args], opts)
    },
    async runNode (args, opts = {}) {
      const cpuFile = opts.cpu === true ? join(workDir, `cpu-${++cpuReports}.json`) : undefined
      const preload = cpuFile === undefined ? [] : ['--import', CPU_REPORT]
      const env = cpuFile === undefined ? process.env : { ...process.env, BENCH_CPU_REPORT: cpuFile }
      const started = performance.now()
      const result = await new Promise<RunResult>((resolve, reject) => {
        const child = spawn(process.execPath, [...preload, ...(opts.nodeArgs ?? []), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
        let stdout = ''
        let stderr = ''
        child.stdout.setEncoding('utf8').on('data', (t: string) => { stdout += t })
        child.stderr.setEncoding('utf8').on('data', (t: string) => { stderr = (stderr + t).slice(-8192) })
        child.once('error', reject)
        child.once('close', (code) => {
          const seconds = (performance.now() - started) / 1000
          if (code === 0) resolve({ seconds, stdout })
          else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim()}`))
        })
      })
      if (cpuFile !== undefined) {
        const usage = JSON.parse(await readFile(cpuFile, 'utf8')) as { user: number, system: number }
        result.cpuSeconds = usage.user + usage.system
        await rm(cpuFile, { force: true })
      }
      return result
    },
    onCleanup (fn) { cleanups.push(fn) },
    table (title, header, rows) {
      const cells = [header, ...rows.map((r) => r.map(fmt))]
      const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
      const line = (r: string[]): string => r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ').trimEnd()
      const out = [`\n${title}`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)]
      process.stdout.write(out.join('\n') + '\n')
    },
    async freeBytes () {
      const s = await statfs(workDir)
      return s.bavail * s.bsize
    },
    async cleanup () {
      if (cleaned) return
      cleaned = true
      for (const node of [...nodes]) await node.stop(5_000).catch(() => {})
      for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch(() => {})
      await rm(workDir, { recursive: true, force: true })
    }
  }
  return ctx
}
