// Runs the real CLI as child processes: one-shot verbs, and nodes started with `start` that are
// waited for (their `ready` line) and stopped (SIGTERM, SIGKILL as a fault) by the test.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitFor } from './wait.ts'
import { assertFreshBuild } from './dist-guard.ts'

export { tempDir } from './fs.ts'

assertFreshBuild()

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))

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
  stderr: () => string
  /** SIGTERM and wait; resolves with the exit code. */
  stop: () => Promise<number | null>
  kill: () => Promise<void>
}

/** `as`: run the node as another user (tests of a node that may not touch the CLI user's files). */
export async function startCliNode (dataDir: string, extraArgs: string[] = [], timeoutMs = 30_000, as?: { uid: number, gid: number }): Promise<CliNode> {
  const args = [CLI, 'start', '--data', dataDir, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', '--json', ...extraArgs]
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...as })
  let stdout = ''
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const ready = await new Promise<{ nodeId: string, p2p: string, api: string }>((resolve, reject) => {
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

/** "host:port" of an /ip4/…/tcp/… multiaddr, the form a user types after --peer. */
export function hostPort (multiaddr: string): string {
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(multiaddr)
  if (m === null) throw new Error(`not an ip4/tcp multiaddr: ${multiaddr}`)
  return `${m[1]}:${m[2]}`
}

/** A node process of `first`'s network on `dataDir`: `init --join` its network.key, `start --peer` it. */
export async function joinCliNode (dataDir: string, first: CliNode): Promise<CliNode> {
  const init = await runCli(['init', '--data', dataDir, '--join', join(first.dataDir, 'network.key')])
  if (init.code !== 0) throw new Error(`init --join failed: ${init.stderr}`)
  return await startCliNode(dataDir, ['--peer', hostPort(first.p2p)])
}

export { waitFor }
