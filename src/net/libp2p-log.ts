// Bridges libp2p's internal logger into pino. libp2p emits no event when a connection fails its
// upgrade (wrong network key, garbage bytes) or is denied by the connection manager's limits: it
// only logs it. We recognise exactly those lines (format strings of libp2p 3.3.x, checked in
// node_modules/libp2p/dist/src/upgrader.js and connection-manager/index.js) and hand them to a
// callback; every other libp2p error goes to pino at trace level.

import type { ComponentLogger, Logger as Libp2pLogger } from '@libp2p/interface'
import type { Logger } from 'pino'

/** upgrader.js, `_performUpgrade`: everything after the private-network handshake. */
const UPGRADE_FAILED = 'failed to upgrade %s connection %s %a - %e'
/** connection-manager/index.js, `acceptIncomingConnection`: "connection from %a refused - <why>". */
const DENIED_PREFIX = 'connection from %a refused - '

export interface Libp2pLogHooks {
  /** A connection failed its upgrade (after the private-network handshake). */
  onUpgradeFailure: (direction: 'inbound' | 'outbound', remoteAddr: string, err: unknown) => void
  /** An inbound connection was denied by a limit (rate, pending upgrades, max connections). */
  onInboundDenied: (remoteAddr: string, why: string) => void
}

export function createLibp2pLogger (log: Logger, hooks: Libp2pLogHooks): ComponentLogger {
  const noop = (): void => {}
  // DV_LIBP2P_DEBUG=<regexp of component names> (e.g. 'kad-dht|circuit-relay'): every line of those
  // libp2p components at info level. For debugging a network (how issue 16's NAT lab was fixed).
  const debugRe = process.env.DV_LIBP2P_DEBUG != null ? new RegExp(process.env.DV_LIBP2P_DEBUG) : undefined
  const make = (name: string): Libp2pLogger => {
    const dbg = debugRe?.test(name) === true
    const logger = Object.assign((formatter: unknown, ...args: unknown[]) => {
      if (dbg) log.info({ component: name, args: args.map(describeLogArg) }, String(formatter))
      if (typeof formatter === 'string' && formatter.startsWith(DENIED_PREFIX)) {
        hooks.onInboundDenied(String(args[0]), formatter.slice(DENIED_PREFIX.length).replace(/ %s$/, ''))
      }
    }, {
      enabled: false,
      trace: noop,
      error: (formatter: unknown, ...args: unknown[]) => {
        if (dbg) log.info({ component: name, args: args.map(describeLogArg) }, 'ERR ' + String(formatter))
        if (formatter === UPGRADE_FAILED) {
          hooks.onUpgradeFailure(args[0] === 'inbound' ? 'inbound' : 'outbound', String(args[2]), args[3])
          return
        }
        if (log.isLevelEnabled('trace')) log.trace({ component: name, args: args.map(describeLogArg) }, String(formatter))
      },
      newScope: (scope: string) => make(`${name}:${scope}`)
    })
    return logger
  }
  return { forComponent: make }
}

export function describeLogArg (value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  return String(value)
}
