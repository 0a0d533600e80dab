// A network lab on one machine (root only): Linux network namespaces joined by veth links, a
// "public" segment on a bridge, and home routers that masquerade (nftables NAT) for one host each.
// Facts behind it: ../shared/notes/network-lab.md. Every name carries the run's PID; `destroy()`
// deletes what was made (and `sweepLeftovers()` what a killed run left), and nothing here routes
// to any address outside the namespaces it made.

import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Why the lab cannot run here, or undefined when it can (root, `ip netns`, `nft`). */
export async function labUnavailable (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and NAT)'
  const probe = `dvprobe${process.pid}`
  try {
    await run('ip', ['netns', 'add', probe])
    await run('ip', ['netns', 'del', probe])
  } catch (err) {
    return `ip netns add failed: ${(err as Error).message.split('\n')[0]}`
  }
  try {
    await run('nft', ['--version'])
  } catch {
    return 'nft is not installed (apt-get install -y nftables)'
  }
  return undefined
}

/** Deletes namespaces of earlier runs (prefix dvl) whose process is gone. */
export async function sweepLeftovers (): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list'])
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0]
    const m = /^dvl(\d+)-/.exec(name)
    if (m == null || Number(m[1]) === process.pid) continue
    let alive = true
    try { process.kill(Number(m[1]), 0) } catch { alive = false }
    if (!alive) await run('ip', ['netns', 'del', name]).catch(() => {})
  }
}

export interface LabHost {
  ns: string
  /** The host's own address. */
  ip: string
}

export class NetLab {
  private readonly prefix = `dvl${process.pid}-`
  private readonly namespaces: string[] = []
  private readonly processes: ChildProcess[] = []
  private links = 0
  private readonly publicNs: string
  private readonly publicSubnet = '10.78.0'

  private constructor () {
    this.publicNs = `${this.prefix}pub`
  }

  /** A lab with an empty public segment (a bridge in its own namespace). */
  static async create (): Promise<NetLab> {
    await sweepLeftovers()
    const lab = new NetLab()
    await lab.namespace('pub')
    await lab.ip(lab.publicNs, 'link', 'add', 'br0', 'type', 'bridge')
    await lab.ip(lab.publicNs, 'link', 'set', 'br0', 'up')
    return lab
  }

  /** A host on the public segment at 10.78.0.<n>. */
  async publicHost (name: string, n: number): Promise<LabHost> {
    const ns = await this.namespace(name)
    const ip = `${this.publicSubnet}.${n}`
    await this.plugIntoBridge(ns, `${ip}/24`)
    return { ns, ip }
  }

  /**
   * A home: a router with public address 10.78.0.<n> that masquerades for one host at
   * 10.77.<n>.2 behind it. The host can reach the public segment; nothing there can reach it.
   */
  async homeBehindNat (name: string, n: number): Promise<{ router: LabHost, host: LabHost }> {
    const routerNs = await this.namespace(`${name}-gw`)
    const hostNs = await this.namespace(name)
    const publicIf = await this.plugIntoBridge(routerNs, `${this.publicSubnet}.${n}/24`)
    const [inner, outer] = [`h${this.links}`, `g${this.links}`]
    this.links++
    await run('ip', ['link', 'add', inner, 'type', 'veth', 'peer', 'name', outer])
    await run('ip', ['link', 'set', inner, 'netns', hostNs])
    await run('ip', ['link', 'set', outer, 'netns', routerNs])
    await this.ip(routerNs, 'addr', 'add', `10.77.${n}.1/24`, 'dev', outer)
    await this.ip(routerNs, 'link', 'set', outer, 'up')
    await this.ip(hostNs, 'addr', 'add', `10.77.${n}.2/24`, 'dev', inner)
    await this.ip(hostNs, 'link', 'set', inner, 'up')
    await this.ip(hostNs, 'route', 'add', 'default', 'via', `10.77.${n}.1`)
    await this.exec(routerNs, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
    await this.exec(routerNs, ['nft', 'add', 'table', 'ip', 'nat'])
    await this.exec(routerNs, ['nft', 'add chain ip nat post { type nat hook postrouting priority 100 ; }'])
    await this.exec(routerNs, ['nft', 'add', 'rule', 'ip', 'nat', 'post', 'oifname', publicIf, 'masquerade'])
    return { router: { ns: routerNs, ip: `${this.publicSubnet}.${n}` }, host: { ns: hostNs, ip: `10.77.${n}.2` } }
  }

  /** Runs a command to completion inside `ns`. */
  async exec (ns: string, argv: string[], options: { input?: string, timeoutMs?: number } = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.stdin.on('error', () => {})
    child.stdin.end(options.input)
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    const code = await new Promise<number | null>(resolve => child.on('close', c => resolve(c)))
    clearTimeout(timer)
    return { code, stdout, stderr }
  }

  /** Starts a long-running process inside `ns`; killed by destroy(). */
  spawn (ns: string, argv: string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.processes.push(child)
    return child
  }

  /** Stops the processes, then deletes every namespace (and with them their links and NAT rules). */
  async destroy (): Promise<void> {
    await Promise.all(this.processes.map(async p => {
      if (p.exitCode !== null || p.signalCode !== null) return
      const exited = new Promise(resolve => p.once('exit', resolve))
      p.kill('SIGTERM')
      const timer = setTimeout(() => p.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }))
    for (const ns of this.namespaces.reverse()) await run('ip', ['netns', 'del', ns]).catch(() => {})
  }

  private async namespace (name: string): Promise<string> {
    const ns = `${this.prefix}${name}`
    await run('ip', ['netns', 'add', ns])
    this.namespaces.push(ns)
    await this.ip(ns, 'link', 'set', 'lo', 'up')
    return ns
  }

  /** A veth from `ns` to the public bridge; returns the interface name inside `ns`. */
  private async plugIntoBridge (ns: string, cidr: string): Promise<string> {
    const [inside, port] = [`p${this.links}`, `b${this.links}`]
    this.links++
    await run('ip', ['link', 'add', inside, 'type', 'veth', 'peer', 'name', port])
    await run('ip', ['link', 'set', inside, 'netns', ns])
    await run('ip', ['link', 'set', port, 'netns', this.publicNs])
    await this.ip(this.publicNs, 'link', 'set', port, 'master', 'br0')
    await this.ip(this.publicNs, 'link', 'set', port, 'up')
    await this.ip(ns, 'addr', 'add', cidr, 'dev', inside)
    await this.ip(ns, 'link', 'set', inside, 'up')
    return inside
  }

  private async ip (ns: string, ...args: string[]): Promise<void> {
    await run('ip', ['-n', ns, ...args])
  }
}
