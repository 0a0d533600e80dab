// A real node process (`dist/cli/main.js start`) for the bench: started on a data dir, waited on
// until it prints its `ready` line, its memory sampled from /proc, stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export interface StartNodeOptions {
  /** Data dir; a fresh temp folder when absent. */
  dataDir?: string
  /** Extra Node flags for the node process (e.g. --cpu-prof). */
  nodeArgs?: string[]
  /** Extra CLI flags for `start`. */
  args?: string[]
}

export interface Memory { rssBytes: number, hwmBytes: number }

export interface NodeProc {
  pid: number
  nodeId: string
  apiUrl: string
  dataDir: string
  /** Current VmRSS and VmHWM (peak RSS since start) from /proc/<pid>/status. */
  memory: () => Promise<Memory>
  /** CPU seconds (user + system, all threads) used so far. */
  cpuSeconds: () => Promise<number>
  /** Samples VmRSS every `everyMs` until the returned function is called; it returns the highest sample. */
  sampleRss: (everyMs?: number, samples?: number[]) => () => number
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop: (graceMs?: number) => Promise<void>
  /** The last lines the node wrote on stderr (for error reports). */
  stderrTail: () => string
  /** Set when the node exited without stop() being called: how it ended. */
  unexpectedExit: () => string | undefined
}

export async function readMemory (pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)
    if (m === null) throw new Error(`/proc/${pid}/status has no ${name}`)
    return Number(m[1]) * 1024
  }
  return { rssBytes: field('VmRSS'), hwmBytes: field('VmHWM') }
}

export async function startNodeProcess (nodeBin: string, cli: string, dataDir: string, options: StartNodeOptions = {}): Promise<NodeProc> {
  const child = spawn(nodeBin, [...(options.nodeArgs ?? []), cli, 'start', '--data', dataDir, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DV_DATA: dataDir }
  })
  let tail = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (text: string) => { tail = (tail + text).slice(-8192) })
  let stopped = false
  let unexpected: string | undefined
  const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    if (!stopped) unexpected = `the node exited by itself (code ${code}, signal ${signal}) at ${new Date().toISOString()}`
    resolve()
  }))
  const samplers = new Set<NodeJS.Timeout>()
  const pid = child.pid
  if (pid === undefined) throw new Error('could not spawn the node process')
  // BENCH_NODE_LOG_DIR: each node's stdout (e.g. --trace-gc through DV_NODE_FLAGS) into <dir>/<pid>.log.
  if (process.env.BENCH_NODE_LOG_DIR !== undefined) child.stdout?.pipe(createWriteStream(join(process.env.BENCH_NODE_LOG_DIR, `${pid}.log`)))

  const ready = await waitForReady(child, 60_000).catch((err: Error) => {
    child.kill('SIGKILL')
    throw new Error(`${err.message}\n--- node stderr ---\n${tail}`)
  })
  return {
    pid,
    nodeId: ready.nodeId,
    apiUrl: ready.apiUrl,
    dataDir,
    memory: async () => await readMemory(pid),
    cpuSeconds: async () => await cpuSecondsOf(pid),
    sampleRss (everyMs = 100, samples) {
      let peak = 0
      const sample = (): void => { readMemory(pid).then((m) => { peak = Math.max(peak, m.rssBytes); samples?.push(m.rssBytes) }, () => {}) }
      sample()
      const timer = setInterval(sample, everyMs).unref()
      samplers.add(timer)
      return () => { clearInterval(timer); samplers.delete(timer); return peak }
    },
    async stop (graceMs = 15_000) {
      for (const timer of samplers) clearInterval(timer)
      samplers.clear()
      if (stopped) return await exited
      stopped = true
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
    stderrTail: () => tail,
    unexpectedExit: () => unexpected
  }
}

async function waitForReady (child: ChildProcess, timeoutMs: number): Promise<{ nodeId: string, apiUrl: string }> {
  return await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(() => reject(new Error(`the node printed no "ready" line within ${timeoutMs} ms`)), timeoutMs)
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`the node exited before it was ready (code ${code}, signal ${signal})`)) })
    lines.on('line', (line) => {
      const m = /^ready (\S+) p2p=(\S*) api=(\S+)/.exec(line)
      if (m !== null) {
        clearTimeout(timer)
        child.stdout?.resume() // keep draining stdout so the node never blocks on a full pipe
        resolve({ nodeId: m[1], apiUrl: m[3] })
      }
    })
  })
}

/** The API's {url, token}, as the CLI finds them. */
export async function apiOf (dataDir: string): Promise<{ url: string, token: string }> {
  return JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as { url: string, token: string }
}

/** CPU seconds (user + system) a live process has used so far, from /proc/<pid>/stat. */
export async function cpuSecondsOf (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** USER_HZ: 100 on every Linux this runs on (the kernel fixes it for /proc). */
const CLOCK_TICKS = 100
