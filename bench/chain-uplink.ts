// Capped-uplink lab run for chained replication (issue 17; root only, network namespaces): three
// nodes on a lab bridge, the owner's uplink capped by tbf (default 100 Mbit/s), holders uncapped; a
// 3-copy put of a random file (default 128 MiB) through the CLI inside the owner's namespace.
// Prints the put's rate of file bytes as a share of the owner's uplink (fan-out cannot pass 0.5:
// it sends two copies; a chain sends one) and the CPU-seconds of the three node processes.
// `node bench/chain-uplink.ts [--repo DIR] [--mib N] [--mbit N] [--repeat N]` (after `npm run build`;
// --repo runs another checkout's dist/, e.g. the tree before chains, with the same lab).
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'
import { labUnavailable, NetLab, type LabHost } from '../test/helpers/netlab.ts'
import { cpuSecondsOf } from './lib/node-proc.ts'

function option (name: string, fallback: string): string {
  const i = process.argv.indexOf(name)
  return i < 0 ? fallback : process.argv[i + 1]
}

const repo = resolve(option('--repo', process.cwd()))
const fileMiB = Number(option('--mib', '128'))
const capMbit = Number(option('--mbit', '100'))
const repeat = Number(option('--repeat', '1'))
const nodeBin = process.execPath
const cli = join(repo, 'dist/cli/main.js')

async function ready (child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ready line within 120 s')), 120_000)
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`node exited (${code})`)) })
    createInterface({ input: child.stdout! }).on('line', line => {
      if (!line.startsWith('ready ')) return
      clearTimeout(timer)
      child.stdout?.resume()
      resolve()
    })
  })
}

async function cliIn (lab: NetLab, host: LabHost, args: string[]): Promise<string> {
  const out = await lab.exec(host.ns, [nodeBin, cli, ...args], { timeoutMs: 900_000 })
  if (out.code !== 0) throw new Error(`${args[0]} failed (${out.code}): ${out.stderr}`)
  return out.stdout
}

async function round (file: string, root: string): Promise<{ seconds: number, cpu: number }> {
  const lab = await NetLab.create()
  try {
    const hosts = [await lab.publicHost('own', 1), await lab.publicHost('h1', 2), await lab.publicHost('h2', 3)]
    const [owner] = hosts
    const links = await lab.exec(owner.ns, ['ip', '-o', 'link', 'show', 'type', 'veth'])
    const uplink = /^\d+: ([^@:]+)/.exec(links.stdout)![1]
    const tc = await lab.exec(owner.ns, ['tc', 'qdisc', 'add', 'dev', uplink, 'root', 'tbf', 'rate', `${capMbit}mbit`, 'burst', '64kb', 'latency', '50ms'])
    if (tc.code !== 0) throw new Error(`tc failed: ${tc.stderr}`)
    const dirs = hosts.map((_, i) => join(root, `n${i}-${Date.now()}`))
    await cliIn(lab, owner, ['init', '--data', dirs[0]])
    for (let i = 1; i < hosts.length; i++) await cliIn(lab, hosts[i], ['init', '--data', dirs[i], '--join', join(dirs[0], 'network.key')])
    const procs = hosts.map((h, i) => lab.spawn(h.ns, [nodeBin, cli, 'start', '--data', dirs[i], '--listen', `${h.ip}:7070`, '--api', '127.0.0.1:7071',
      ...(i === 0 ? [] : ['--peer', `${owner.ip}:7070`])]))
    await Promise.all(procs.map(ready))
    if (process.argv.includes('--verbose')) {
      procs.forEach((p, i) => createInterface({ input: p.stderr! }).on('line', line => { if (/warn|error|chain/i.test(line)) process.stderr.write(`[n${i}] ${line}\n`) }))
    }
    for (let t = 0; ; t++) {
      const status = JSON.parse(await cliIn(lab, owner, ['status', '--json', '--data', dirs[0]])) as { peers: unknown[] }
      if (status.peers.length >= 2) break
      if (t > 120) throw new Error('the nodes did not connect')
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    const cpu = async (): Promise<number> => (await Promise.all(procs.map(async p => await cpuSecondsOf(p.pid!)))).reduce((a, b) => a + b, 0)
    const cpuBefore = await cpu()
    const started = performance.now()
    const put = JSON.parse((await cliIn(lab, owner, ['put', file, '--name', 'lab.bin', '--replicas', '3', '--json', '--data', dirs[0]])).trim()) as { replicas: number }
    const seconds = (performance.now() - started) / 1000
    if (put.replicas !== 3) throw new Error(`put reached ${put.replicas} copies`)
    return { seconds, cpu: (await cpu()) - cpuBefore }
  } finally {
    await lab.destroy()
  }
}

const why = await labUnavailable()
if (why !== undefined) {
  process.stdout.write(`chain-uplink: skipped, ${why}\n`)
  process.exit(0)
}
const root = await mkdtemp(join(tmpdir(), 'dv-uplink-'))
try {
  const file = join(root, 'file.bin')
  await writeFile(file, randomBytes(fileMiB * 1024 * 1024))
  for (let i = 0; i < repeat; i++) {
    const load = loadavg()[0]
    const { seconds, cpu } = await round(file, root)
    const mbit = fileMiB * 1024 * 1024 * 8 / 1e6 / seconds
    process.stdout.write(JSON.stringify({ repo, fileMiB, capMbit, seconds: +seconds.toFixed(1), fileMbitPerS: +mbit.toFixed(1), shareOfUplink: +(mbit / capMbit).toFixed(3), cpuSecondsAllNodes: +cpu.toFixed(1), cpuSPerGB: +(cpu / (fileMiB * 1024 * 1024 / 1e9)).toFixed(1), loadavg1: +load.toFixed(1) }) + '\n')
  }
} finally {
  await rm(root, { recursive: true, force: true })
}
