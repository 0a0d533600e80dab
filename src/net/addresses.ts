// Peer addresses: what a user types (host:port, [v6]:port, multiaddr) into multiaddrs, and the
// rules for which addresses we dial or pass on in peer exchange.

import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { isIP } from 'node:net'
import { VaultError } from '../errors.ts'

const HOST_PORT = /^([^\s:[\]/]+):(\d{1,5})$/
const V6_PORT = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/

export function toMultiaddr (addr: string): Multiaddr {
  const text = addr.trim()
  if (text.startsWith('/')) {
    try {
      return multiaddr(text)
    } catch (err) {
      throw new VaultError('BAD_INPUT', `not a valid multiaddr: ${text} (${(err as Error).message})`)
    }
  }
  const match = V6_PORT.exec(text) ?? HOST_PORT.exec(text)
  if (match == null) throw new VaultError('BAD_INPUT', `address must be host:port, [ipv6]:port or a multiaddr, got ${JSON.stringify(text)}`)
  const [, host, portText] = match
  const port = Number(portText)
  if (port > 65535) throw new VaultError('BAD_INPUT', `port out of range in ${text}`)
  const family = isIP(host)
  const proto = family === 4 ? 'ip4' : family === 6 ? 'ip6' : 'dns'
  if (family === 0 && !/^[a-zA-Z0-9.-]+$/.test(host)) throw new VaultError('BAD_INPUT', `not a valid host name: ${host}`)
  return multiaddr(`/${proto}/${host}/tcp/${port}`)
}

/** The peer ID in a multiaddr's last /p2p/ component, if any. */
export function peerIdOf (ma: Multiaddr): string | undefined {
  return ma.getComponents().findLast(c => c.name === 'p2p')?.value
}

/** The multiaddr without its /p2p/ part, as a string. */
export function transportPart (ma: Multiaddr): string {
  return multiaddr(ma.getComponents().filter(c => c.name !== 'p2p')).toString()
}

/** Only plain TCP addresses (ip4/ip6/dns + tcp) are dialable by our stack. */
export function isDialableTcp (ma: Multiaddr): boolean {
  const names = ma.getComponents().map(c => c.name)
  return names.length >= 2 && ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(names[0]) && names[1] === 'tcp' &&
    names.slice(2).every(n => n === 'p2p')
}

export function withPeerId (ma: Multiaddr | string, nodeId: string): Multiaddr {
  const base = typeof ma === 'string' ? multiaddr(ma) : ma
  return peerIdOf(base) === nodeId ? base : multiaddr(`${transportPart(base)}/p2p/${nodeId}`)
}

export function parseMultiaddrOrNull (text: string): Multiaddr | null {
  try {
    return multiaddr(text)
  } catch {
    return null
  }
}

/** 127.0.0.0/8, ::1 or "localhost": only reachable from the same machine. */
export function isLoopback (ma: Multiaddr): boolean {
  const [first] = ma.getComponents()
  if (first == null) return false
  if (first.name === 'ip4') return first.value?.startsWith('127.') === true
  if (first.name === 'ip6') return first.value === '::1'
  return first.value === 'localhost'
}

/** A relayed address or connection: …/p2p-circuit/… */
export function isCircuit (ma: Multiaddr): boolean {
  return ma.getComponents().some(c => c.name === 'p2p-circuit')
}
