// Admission of inbound connections before their handshake, per remote IP: a few handshakes at a
// time, the rest wait their turn in arrival order (bounded), and an IP whose handshakes keep failing
// (no network key) is throttled to one paced handshake at a time. A stranger and a member behind
// one IP cannot be told apart before the handshake, so nobody is refused for sharing an IP: the
// member's connection waits behind the stranger's, which fail fast, and gets in. A failed
// handshake costs the stranger a connection and a wait; it costs the node one cheap handshake.

import type { MultiaddrConnection, PeerId } from '@libp2p/interface'

export interface InboundGuardOptions {
  /** Handshakes in progress from one IP at once. */
  handshakesPerHost: number
  /** Connections from one IP waiting for a handshake slot; past this, refused. */
  queuedPerHost: number
  /** Failed handshakes from one IP within `failureWindowMs` that make it throttled… */
  failuresBeforeThrottle: number
  failureWindowMs: number
  /** …for this long after its last failure: one handshake at a time, this far apart. */
  throttleMs: number
  throttledGapMs: number
  /** Connections from throttled IPs waiting for a handshake, all together; past this, refused,
   * so IPs without failures always find room in libp2p's pending-connection cap. */
  maxThrottledPending: number
}

interface Host {
  active: number
  queue: Array<() => void>
  failures: number[]
  throttledUntil: number
  lastStartAt: number
  timer?: NodeJS.Timeout
}

type Admission = 'admitted' | 'refused'

const MAX_HOSTS = 4096

export class InboundGuard {
  private readonly options: InboundGuardOptions
  private readonly hosts = new Map<string, Host>()
  /** Connections holding a slot (admitted, handshake not over), and whether it succeeded. */
  private readonly admitted = new Map<MultiaddrConnection, { ip: string, host: Host }>()
  private throttledPending = 0
  /** Connections refused (queue full, too many from throttled IPs), handshakes failed. */
  refused = 0
  failed = 0

  constructor (options: InboundGuardOptions) {
    this.options = options
  }

  /** libp2p's connection gater: called before the handshake (may wait) and after encryption. */
  gater (): { denyInboundConnection: (maConn: MultiaddrConnection) => Promise<boolean>, denyInboundEncryptedConnection: (peer: PeerId, maConn: MultiaddrConnection) => boolean } {
    return {
      denyInboundConnection: async (maConn) => (await this.admit(maConn)) === 'refused',
      denyInboundEncryptedConnection: (_peer, maConn) => { this.handshakeDone(maConn, true); return false }
    }
  }

  isThrottled (ip: string, now = Date.now()): boolean {
    return (this.hosts.get(ip)?.throttledUntil ?? 0) > now
  }

  private async admit (maConn: MultiaddrConnection): Promise<Admission> {
    const ip = hostOf(maConn)
    if (ip === undefined) return 'admitted'
    const host = this.host(ip)
    const throttled = this.isThrottled(ip)
    if (host.queue.length >= this.options.queuedPerHost || (throttled && this.throttledPending >= this.options.maxThrottledPending)) {
      this.refused++
      return 'refused'
    }
    if (throttled) this.throttledPending++
    const countedThrottled = throttled
    const closed = new Promise<'closed'>(resolve => maConn.addEventListener('close', () => resolve('closed'), { once: true }))
    let turn!: () => void
    const granted = new Promise<'granted'>(resolve => { turn = () => resolve('granted') })
    host.queue.push(turn)
    this.serve(ip, host)
    const outcome = await Promise.race([granted, closed])
    if (countedThrottled) this.throttledPending--
    if (outcome === 'closed') {
      const at = host.queue.indexOf(turn)
      if (at !== -1) host.queue.splice(at, 1)
      else this.release(ip, host) // granted in the same tick as it closed
      this.noteFailure(ip, host)
      return 'refused'
    }
    this.admitted.set(maConn, { ip, host })
    if (maConn.status !== 'open') this.handshakeDone(maConn, false)
    else maConn.addEventListener('close', () => this.handshakeDone(maConn, false), { once: true })
    return 'admitted'
  }

  /** The handshake of an admitted connection ended: its slot goes to the next in line. */
  private handshakeDone (maConn: MultiaddrConnection, succeeded: boolean): void {
    const holder = this.admitted.get(maConn)
    if (holder === undefined) return
    this.admitted.delete(maConn)
    const { ip, host } = holder
    if (!succeeded) this.noteFailure(ip, host)
    this.release(ip, host)
  }

  private release (ip: string, host: Host): void {
    host.active--
    this.serve(ip, host)
  }

  /** Starts the next waiting handshakes of `ip` as its slots (and pace, if throttled) allow. */
  private serve (ip: string, host: Host): void {
    const throttled = this.isThrottled(ip)
    const slots = throttled ? 1 : this.options.handshakesPerHost
    while (host.active < slots && host.queue.length > 0 && host.timer === undefined) {
      const waitMs = throttled ? host.lastStartAt + this.options.throttledGapMs - Date.now() : 0
      if (waitMs > 0) {
        host.timer = setTimeout(() => { host.timer = undefined; this.serve(ip, host) }, waitMs)
        host.timer.unref()
        return
      }
      host.active++
      host.lastStartAt = Date.now()
      host.queue.shift()!()
    }
    if (host.active === 0 && host.queue.length === 0 && host.timer === undefined && !throttled && host.failures.length === 0) this.hosts.delete(ip)
  }

  private noteFailure (ip: string, host: Host, now = Date.now()): void {
    this.failed++
    const { failureWindowMs, failuresBeforeThrottle, throttleMs } = this.options
    host.failures = host.failures.filter(at => now - at < failureWindowMs)
    host.failures.push(now)
    if (host.failures.length >= failuresBeforeThrottle) host.throttledUntil = now + throttleMs
  }

  private host (ip: string): Host {
    let host = this.hosts.get(ip)
    if (host === undefined) {
      if (this.hosts.size >= MAX_HOSTS) this.forgetIdleHosts()
      host = { active: 0, queue: [], failures: [], throttledUntil: 0, lastStartAt: 0 }
      this.hosts.set(ip, host)
    }
    return host
  }

  private forgetIdleHosts (now = Date.now()): void {
    for (const [ip, host] of this.hosts) {
      if (host.active === 0 && host.queue.length === 0 && host.throttledUntil <= now) this.hosts.delete(ip)
    }
  }

  stop (): void {
    for (const host of this.hosts.values()) clearTimeout(host.timer)
  }
}

function hostOf (maConn: MultiaddrConnection): string | undefined {
  const component = maConn.remoteAddr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')
  return component?.value
}
