// `start`: run the node in the foreground until SIGINT/SIGTERM, then stop cleanly.
import type { Command } from 'commander'
import { parseHostPort, parseReplicas, parseSize, DEFAULT_API, DEFAULT_LISTEN, DEFAULT_REPLICAS } from '../../node/flags.ts'
import { resolveDataDir } from '../../node/data-dir.ts'
import { VaultError } from '../../errors.ts'
import { withCommon, type CommonOptions } from '../common.ts'
import { relaunchWithNodeFlags } from '../../runtime/index.ts'
import { printJson, printLine, reportError } from '../output.ts'
import { printPhrase } from './init.ts'
import type { VaultNode } from '../../node/index.ts'
// Not imported from log-format.ts: that loads pino, which no other verb needs.
const LOG_FORMATS = ['auto', 'text', 'json'] as const

interface StartFlags extends CommonOptions {
  listen: string
  api: string
  peer: string[]
  replicas: string
  mdns?: boolean
  dht?: boolean
  relay?: boolean
  nat?: boolean
  maxConnections?: string
  repairAfter: string
  scrubEvery: string
  auditEvery: string
  maxStorage?: string
  maxPerOwner?: string
  inboundBuffer?: string
  inboundBufferPerPeer?: string
  msgBurst: string
  msgRate: string
  logLevel: string
  logFormat: string
}

function seconds (text: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new VaultError('BAD_USAGE', `${flag} must be a number of seconds, got ${JSON.stringify(text)}`)
  return Number(text)
}

function count (text: string, flag: string): number {
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) throw new VaultError('BAD_USAGE', `${flag} must be a positive number, got ${JSON.stringify(text)}`)
  return Number(text)
}

export function registerStart (program: Command): void {
  withCommon(program.command('start'))
    .description('run the node in the foreground (initialises the data directory if needed)')
    .option('--listen <host:port>', 'p2p listen address', DEFAULT_LISTEN)
    .option('--api <host:port>', 'HTTP API address', DEFAULT_API)
    .option('--peer <addr>', 'bootstrap peer, host:port or multiaddr (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--replicas <n|all>', 'copies of each chunk in all, this node counted', String(DEFAULT_REPLICAS))
    .option('--mdns', 'find peers on the local network')
    .option('--dht', 'networks beyond one LAN: Kademlia routing and gossip broadcast, bounded connections')
    .option('--relay', 'offer a circuit relay to members behind NAT (implies --dht)')
    .option('--nat', 'this node is behind NAT without port forwarding: reachable through a relay (implies --dht)')
    .option('--max-connections <n>', 'connections kept at most (default 48 with --dht, 128 without)')
    .option('--repair-after <seconds>', 'how long a holder may be away before its copies are remade', '600')
    .option('--scrub-every <seconds>', 'verify every local chunk this often, at a capped read rate (0 = never)', '86400')
    .option('--audit-every <seconds>', 'check this often that holders still have our chunks (0 = never)', '300')
    .option('--max-storage <size>', 'cap on what this node holds for others, e.g. 50GB (default: what it holds now + half the free disk)')
    .option('--max-per-owner <size>', 'cap on what this node holds for any one other owner (default: a quarter of --max-storage)')
    .option('--inbound-buffer <size>', 'memory for blobs being received from peers, all together (default 64MiB)')
    .option('--inbound-buffer-per-peer <size>', 'memory for blobs being received from one peer (default 4 of the largest blobs, ~16MiB)')
    .option('--msg-burst <n>', 'messages one sender may send at once (then --msg-rate)', '100')
    .option('--msg-rate <n>', 'messages per second one sender may keep up', '20')
    .option('--log-level <level>', 'log level on stderr (trace, debug, info, warn, error)', process.env.DV_LOG_LEVEL ?? 'info')
    .option('--log-format <format>', 'logs on stderr: text (readable lines), json (pino JSON lines) or auto (text on a terminal)', process.env.DV_LOG_FORMAT ?? 'auto')
    .action(async (flags: StartFlags) => {
      await checkStartFlags(flags)
      relaunchWithNodeFlags() // returns only when already relaunched (or it cannot be)
      const { createNode, tuningFromEnv } = await import('../../node/index.ts')
      // DV_TUNING (tests of node processes): faster timers than the product's; unset, nothing changes.
      const tuning = tuningFromEnv()
      const { createStartLogger } = await import('../log-format.ts')
      const log = createStartLogger(flags.logFormat as 'auto' | 'text' | 'json', flags.logLevel)
      const node = await createNode({
        dataDir: resolveDataDir(flags.data),
        listen: flags.listen,
        api: flags.api,
        peers: flags.peer,
        replicas: parseReplicas(flags.replicas),
        mdns: flags.mdns === true,
        dht: flags.dht === true,
        relay: flags.relay === true,
        behindNat: flags.nat === true,
        maxConnections: flags.maxConnections === undefined ? undefined : count(flags.maxConnections, '--max-connections'),
        repairAfterSeconds: seconds(flags.repairAfter, '--repair-after'),
        scrubEverySeconds: seconds(flags.scrubEvery, '--scrub-every'),
        auditEverySeconds: seconds(flags.auditEvery, '--audit-every'),
        maxStorageBytes: flags.maxStorage === undefined ? undefined : parseSize(flags.maxStorage),
        maxPerOwnerBytes: flags.maxPerOwner === undefined ? undefined : parseSize(flags.maxPerOwner),
        inboundBufferBytes: flags.inboundBuffer === undefined ? undefined : parseSize(flags.inboundBuffer),
        inboundBufferPerPeerBytes: flags.inboundBufferPerPeer === undefined ? undefined : parseSize(flags.inboundBufferPerPeer),
        messageBurst: count(flags.msgBurst, '--msg-burst'),
        messageRatePerSecond: count(flags.msgRate, '--msg-rate'),
        logLevel: flags.logLevel
      }, { ...tuning, ...(log === undefined ? {} : { log }) })
      if (node.initialized?.phrase !== undefined && flags.json !== true) printPhrase(node.initialized.phrase, process.stderr)
      // The address other machines can dial comes first; loopback only when there is nothing else.
      const addresses = node.status().addresses
      // Loaded before the ready line: a signal sent as soon as it is seen must find the handlers.
      const launcherWatch = await import('../../node/launcher-watch.ts')
      const p2p = addresses.find(a => !/^\/ip[46]\/(127\.|::1\/)/.test(a)) ?? addresses[0] ?? ''
      // The handlers first, then the ready line: a launcher that signals the moment it reads the
      // line must find them (a signal with no handler yet kills the process outright, and that
      // race was seen whenever the reader ran on the other core).
      const stopped = runUntilStopped(node, launcherWatch)
      if (flags.json === true) {
        printJson({ event: 'ready', nodeId: node.nodeId, p2p, api: node.apiUrl, dataDir: node.paths.root, ...(node.initialized?.phrase !== undefined ? { phrase: node.initialized.phrase } : {}) })
      } else {
        printLine(`ready ${node.nodeId} p2p=${p2p} api=${node.apiUrl}`)
      }
      await stopped
    })
}

/** Same Ctrl-C twice: a terminal and a launcher forwarding it both deliver one, within moments. */
const SAME_REQUEST_MS = 2000

/**
 * Installs its signal handlers at once (before it returns), then waits for SIGINT/SIGTERM/SIGHUP,
 * or for the launcher to disappear, and stops the node once. A signal
 * arriving within SAME_REQUEST_MS of the first is the same request reaching us twice (a process
 * group signal plus a launcher or npm passing it on); a later one means "now", and exits at once.
 */
async function runUntilStopped (node: VaultNode, { findLaunchers, watchLaunchers }: typeof import('../../node/launcher-watch.ts')): Promise<void> {
  await new Promise<void>((resolve) => {
    let stoppingSince: number | undefined
    const stop = (): void => {
      stoppingSince = Date.now()
      node.stop().then(resolve, (err: unknown) => { process.exitCode = reportError(err); resolve() })
    }
    const onSignal = (signal: string): void => {
      if (stoppingSince === undefined) { stop(); return }
      if (Date.now() - stoppingSince < SAME_REQUEST_MS) return
      process.stderr.write(`${signal} again: exiting without a clean stop\n`)
      process.exit(1)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    process.on('SIGHUP', onSignal) // the terminal closed
    const unwatch = watchLaunchers(findLaunchers(), (pid) => {
      if (stoppingSince !== undefined) return
      node.log.warn({ launcherPid: pid }, 'the process that started this node is gone: stopping')
      stop()
    })
    process.once('exit', unwatch)
  })
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/** Everything a user typed is checked before the node starts: a typo is a usage error (exit 2). */
async function checkStartFlags (flags: StartFlags): Promise<void> {
  // addresses.ts alone (multiaddr parsing), not net/index.ts: the flags are checked before libp2p
  // loads; and only here, so the other verbs do not load multiaddr at all.
  const { toMultiaddr } = await import('../../net/addresses.ts')
  if (!(LOG_FORMATS as readonly string[]).includes(flags.logFormat)) throw new VaultError('BAD_USAGE', `--log-format must be one of ${LOG_FORMATS.join(', ')}, got ${JSON.stringify(flags.logFormat)}`)
  if (!LOG_LEVELS.includes(flags.logLevel)) throw new VaultError('BAD_USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(flags.logLevel)}`)
  parseHostPort(flags.api, '--api')
  for (const size of [flags.maxStorage, flags.maxPerOwner, flags.inboundBuffer, flags.inboundBufferPerPeer]) if (size !== undefined) parseSize(size)
  if (!Number.isInteger(count(flags.msgBurst, '--msg-burst'))) throw new VaultError('BAD_USAGE', `--msg-burst must be a whole number, got ${JSON.stringify(flags.msgBurst)}`)
  count(flags.msgRate, '--msg-rate')
  asUsage('--listen', () => flags.listen.startsWith('/') ? toMultiaddr(flags.listen) : parseHostPort(flags.listen, '--listen'))
  for (const peer of flags.peer) asUsage('--peer', () => toMultiaddr(peer))
}

function asUsage (flag: string, check: () => unknown): void {
  try {
    check()
  } catch (err) {
    if (err instanceof VaultError && err.code === 'BAD_INPUT') throw new VaultError('BAD_USAGE', `${flag}: ${err.message}`)
    throw err
  }
}
