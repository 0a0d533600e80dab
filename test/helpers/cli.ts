// Runs the real CLI as child processes: one-shot verbs, and nodes started with `start` that are
// waited for (their `ready` line) and stopped (SIGTERM, SIGKILL as a fault) by the test.
import { after } from 'node:test'
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { request } from 'node:http'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor } from './wait.ts'
import { assertFreshBuild } from './dist-guard.ts'

import { NODE_FLAGS } from '../../src/runtime/index.ts'
export { tempDir } from './fs.ts'

assertFreshBuild()

// Every node process this file started and that still runs. A test that timed out may leave one
// behind (one still starting when its test was cancelled, before the test could note it for its
// `after`); its pipes would keep the test file's process alive forever. The file's last hook
// kills what is left.
const liveNodes = new Set<ChildProcess>()
after(() => { for (const proc of liveNodes) proc.kill('SIGKILL') })

// The CLI as `distri-vault` runs it (bin/distri-vault.js): the bundle of scripts/bundle.ts, a node
// process loading a few files rather than ~1,100 modules (docs/PERFORMANCE.md, "The suite, session 5").
// DV_TEST_CLI=dist/cli/main.js runs tsc's unbundled output instead (to compare the two).
export const CLI = fileURLToPath(new URL(`../../${process.env.DV_TEST_CLI ?? 'dist/bundle/main.js'}`, import.meta.url))

export interface CliResult { code: number | null, stdout: string, stderr: string, stdoutBytes: Buffer }

/** `nodeArgs`: flags for Node itself, before the CLI's path (e.g. `--import` a preload). */
export async function runCli (args: string[], options: { input?: string | Buffer, env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number, nodeArgs?: string[] } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, ...args], { env: { ...process.env, ...options.env }, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout.on('data', (d: Buffer) => out.push(d))
  child.stderr.on('data', (d: Buffer) => err.push(d))
  child.stdin.on('error', () => {})
  child.stdin.end(options.input)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
  clearTimeout(timer)
  const stdoutBytes = Buffer.concat(out)
  return { code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes }
}

export interface CliNode {
  proc: ChildProcess
  dataDir: string
  nodeId: string
  p2p: string
  api: string
  /** The recovery phrase, when `start` made the identity (a fresh data directory). */
  phrase?: string
  stderr: () => string
  /** SIGTERM and wait; resolves with the exit code. */
  stop: () => Promise<number | null>
  kill: () => Promise<void>
}

/**
 * Faster product timers for node processes (DV_TUNING, read by `start`; see docs/DECISIONS.md): a
 * hung holder's block requests give up after 10 s instead of 20 s, the owner's repair pass (which
 * retries deletions a holder missed) runs every 2 s instead of 30 s. For tests that wait on those.
 */
export const FAST_TIMERS: NodeJS.ProcessEnv = { DV_TUNING: JSON.stringify({ blockTimeoutMs: 10_000, repairEveryMs: 2_000 }) }

/**
 * `as`: run the node as another user (tests of a node that may not touch the CLI user's files).
 * `env`: added to the node's environment (e.g. FAST_TIMERS).
 */
export async function startCliNode (dataDir: string, extraArgs: string[] = [], timeoutMs = 90_000, as?: { uid: number, gid: number }, env?: NodeJS.ProcessEnv): Promise<CliNode> {
  // Node's flags that `start` would re-exec itself to get (runtime/relaunch.ts), given at once: one
  // Node start-up per node instead of two. The launchers' own paths are tested in start-signals.
  const args = [...NODE_FLAGS, CLI, 'start', '--data', dataDir, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', '--json', ...extraArgs]
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...as, ...(env === undefined ? {} : { env: { ...process.env, ...env } }) })
  liveNodes.add(proc)
  proc.on('exit', () => liveNodes.delete(proc))
  let stdout = ''
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const ready = await new Promise<{ nodeId: string, p2p: string, api: string, phrase?: string }>((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`node did not get ready in ${timeoutMs} ms:\n${stderr}`)) }, timeoutMs)
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      const line = stdout.split('\n').find(l => l.includes('"event":"ready"'))
      if (line !== undefined) { clearTimeout(timer); resolve(JSON.parse(line)) }
    })
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`node exited (${code}) before ready:\n${stderr}`)) })
  })
  return {
    proc,
    dataDir,
    ...ready,
    stderr: () => stderr,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
      return await exited
    },
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await exited
    }
  }
}

/**
 * One node process for several tests of a file (a node costs ~2 CPU-seconds to start), started
 * by the first test that asks, in a temp dir of its own; killed and removed in the file's last
 * hook (resumed first, should a test have left it SIGSTOPped). Call at the file's top level.
 */
export function sharedCliNode (prefix: string, extraArgs: string[] = []): () => Promise<CliNode> {
  let shared: CliNode | undefined
  let root: string | undefined
  after(async () => {
    shared?.proc.kill('SIGCONT')
    await shared?.kill()
    if (root !== undefined) await rm(root, { recursive: true, force: true })
  })
  return async () => {
    root ??= await mkdtemp(join(tmpdir(), prefix))
    shared ??= await startCliNode(join(root, 'node'), extraArgs)
    return shared
  }
}

/** "host:port" of an /ip4/…/tcp/… multiaddr, the form a user types after --peer. */
export function hostPort (multiaddr: string): string {
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(multiaddr)
  if (m === null) throw new Error(`not an ip4/tcp multiaddr: ${multiaddr}`)
  return `${m[1]}:${m[2]}`
}

/**
 * A node process of `first`'s network on `dataDir`: its network.key copied in, then `start --peer`
 * first. `start` on a fresh directory makes the identity and keeps the network key it finds, as
 * `init --join` would: one process instead of two (an `init` loads the whole node, ~2 CPU-seconds
 * here). `init --join` itself is tested through the CLI in put-shortfall, and `init --recover
 * --join` in network, dht, duplicate-identity, hung-holder and kill-loop. A fresh node's phrase is
 * in its ready line (`phrase`): no `init` process is needed to learn it.
 */
export async function joinCliNode (dataDir: string, first: CliNode, extraArgs: string[] = [], env?: NodeJS.ProcessEnv): Promise<CliNode> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  await copyFile(join(first.dataDir, 'network.key'), join(dataDir, 'network.key'))
  return await startCliNode(dataDir, ['--peer', hostPort(first.p2p), ...extraArgs], 90_000, undefined, env)
}

/**
 * GET `path` of the node on `dataDir` from the test process, with the token of its api.json: the
 * JSON `status --json` (`/api/status`) or `peers --json` (`/api/peers`) would print. For polling
 * loops: each CLI verb is a new Node process (~0.5 CPU-seconds here), a poll every 200 ms of a
 * 10-second wait spent more CPU than the test's real work. Assert through the CLI once the wait
 * is over.
 */
export async function apiJson<T = any> (dataDir: string, path: string): Promise<T> {
  const { url, token } = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as { url: string, token: string }
  return await new Promise<T>((resolve, reject) => {
    const req = request(new URL(path, url), { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8')
        if ((res.statusCode ?? 500) >= 400) reject(new Error(`GET ${path}: ${res.statusCode} ${text}`))
        else resolve(JSON.parse(text) as T)
      })
    })
    req.on('error', reject)
    req.end()
  })
}

/** How many peers the node on `dataDir` is connected to now (0 while its API is not answering). */
export async function connectedPeers (dataDir: string): Promise<number> {
  try {
    return (await apiJson<Array<{ connected: boolean }>>(dataDir, '/api/peers')).filter(p => p.connected).length
  } catch {
    return 0
  }
}

/** Waits until every node of `nodes` is connected to at least `count` peers (default: all the others). */
export async function waitForCliPeers (nodes: CliNode[], count = nodes.length - 1, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${nodes.map(n => n.dataDir).join(', ')} to see ${count} peers each`, async () => {
    for (const n of nodes) if (await connectedPeers(n.dataDir) < count) return false
    return true
  }, { timeoutMs, intervalMs: 100 })
}

export { waitFor }
