// Ctrl-C on `start` stops the node cleanly once, whatever launched it, and a node never outlives
// a launcher killed outright.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir, waitFor } from '../helpers/cli.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = join(ROOT, 'bin', 'distri-vault.js')
/** The machine's own Node, older than 22: the launcher then runs the node as its child. */
const OLD_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find(p => existsSync(p))
const NODE_ARGS = (data: string): string[] => ['start', '--data', data, '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', '--json']

interface Launched { proc: ChildProcess, nodePid: number, stderr: () => string, exited: Promise<number | null> }

/** Starts `command` in a process group of its own (as a shell does a foreground job) and waits for ready. */
async function launch (command: string, args: string[], data: string): Promise<Launched> {
  // npx installs this checkout into its cache (~/.npm/_npx) the first time it sees its path, and
  // that install ran our `prepare` (tsc and the bundle) in this very checkout: dist/ was rebuilt
  // under the CLI tests running beside this one, which then found it older than src/ or missing
  // (a clean-clone CI run failed so). The build is done already; npx needs no install scripts.
  const env = command === 'npx' ? { ...process.env, npm_config_ignore_scripts: 'true' } : process.env
  const proc = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env })
  let stdout = ''
  let stderr = ''
  proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  // 'close', not 'exit': the last stderr lines ("node stopped") may still be in the pipe at 'exit'
  // (seen at load ~25: the SIGTERM case of the bin as a command missed its last line).
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)))
  try {
    await waitFor(`the ready line of ${command} ${args.join(' ')}`, () => stdout.includes('"event":"ready"'), { timeoutMs: 60_000 })
  } catch (err) {
    // Not ready in time: the group is killed here, since the caller never gets it to clean up (seen:
    // an npx launch left running for half an hour on a loaded machine).
    try { process.kill(-proc.pid!, 'SIGKILL') } catch {}
    throw new Error(`${(err as Error).message}:\n${stderr}`)
  }
  const { pid } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8'))
  return { proc, nodePid: pid, stderr: () => stderr, exited }
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

const launchers: Array<[string, string, (data: string) => string[]]> = [
  ['npm start', 'npm', (data) => ['start', '--', ...NODE_ARGS(data).slice(1)]],
  ['npx distri-vault', 'npx', (data) => ['distri-vault', ...NODE_ARGS(data)]],
  ['the bin on Node 24', process.execPath, (data) => [BIN, ...NODE_ARGS(data)]],
  ['the bin as a command (as npm link runs it)', BIN, (data) => NODE_ARGS(data)],
  ...(OLD_NODE === undefined ? [] : [['the bin on the machine\'s old Node', OLD_NODE, (data: string) => [BIN, ...NODE_ARGS(data)]] as [string, string, (data: string) => string[]]])
]

// Each test launches a node of its own and mostly waits on it (its start, its stop): three at a time,
// except the npx launches, one at a time among themselves (npx keeps state under ~/.npm/_npx; its
// runs are not overlapped with each other).
describe('start under its launchers', { concurrency: 3 }, () => {
  const npxTests: Array<() => void> = []
  const register = (what: string, define: () => void): void => { if (what.startsWith('npx')) npxTests.push(define); else define() }
  for (const [what, command, args] of launchers) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      register(what, () => test(`${signal} to the process group of ${what} stops the node cleanly, once`, async (t) => {
        const dir = await tempDir(t)
        const data = join(dir, 'node')
        const run = await launch(command, args(data), data)
        t.after(() => { try { process.kill(-run.proc.pid!, 'SIGKILL') } catch {} })
        process.kill(-run.proc.pid!, signal)
        await run.exited
        await waitFor('the node process to end', () => !alive(run.nodePid), { timeoutMs: 15_000 })
        assert.doesNotMatch(run.stderr(), /again: exiting without a clean stop/)
        assert.match(run.stderr(), /"msg":"node stopped"/)
        assert.equal(existsSync(join(data, 'node.pid')), false, 'the run lock is released (a clean stop)')
        assert.equal(existsSync(join(data, 'api.json')), false)
      }))
    }
  }

  // The bin on Node 24, or run as a command (its shell line execs Node), is the node itself.
  const killable = launchers.filter(([what]) => !what.startsWith('the bin on Node 24') && !what.startsWith('the bin as a command'))
  for (const [what, command, args] of killable) {
    register(what, () => test(`killing ${what} with SIGKILL does not leave its node serving the API`, async (t) => {
      const dir = await tempDir(t)
      const data = join(dir, 'node')
      const run = await launch(command, args(data), data)
      t.after(() => { try { process.kill(-run.proc.pid!, 'SIGKILL') } catch {} })
      assert.notEqual(run.nodePid, run.proc.pid, 'the node runs under the launcher')
      run.proc.kill('SIGKILL')
      await waitFor('the orphaned node to stop by itself', () => !alive(run.nodePid), { timeoutMs: 20_000 })
      assert.equal(existsSync(join(data, 'api.json')), false, 'it stopped cleanly: api.json removed')
      assert.equal(existsSync(join(data, 'node.pid')), false)
    }))
  }
  describe('under npx', { concurrency: 1 }, () => { for (const define of npxTests) define() })
})
