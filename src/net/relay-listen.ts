// Listening through a relay, started and stopped while the node runs (issue 16): a node judged
// unreachable starts listening on /p2p-circuit (the circuit transport reserves a slot on a
// connected relay), and one that a later check finds reachable again stops, so that it does not
// keep a relay's slot and a relayed address it no longer needs. libp2p 3 has no public call for
// either once started: both go through its transport and address managers.

import type { PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { NetworkLibp2p } from './libp2p-node.ts'
import { isCircuit } from './addresses.ts'

/** The tag the circuit transport puts on a relay it holds a reservation on (keep its connection). */
const RELAY_KEEP_ALIVE_TAG = 'keep-alive-circuit-relay'

interface Listener { getAddrs: () => Multiaddr[], close: () => Promise<void> }
interface Internals {
  components: {
    transportManager: { listen: (addrs: Multiaddr[]) => Promise<void>, listeners: Map<string, Listener[]> }
    addressManager: { removeObservedAddr: (addr: Multiaddr) => void }
  }
}

const CIRCUIT_TRANSPORT = '@libp2p/circuit-relay-v2-transport'

function withoutOwnId (addr: Multiaddr, self: string): Multiaddr {
  const suffix = `/p2p/${self}`
  const text = addr.toString()
  return text.endsWith(suffix) ? multiaddr(text.slice(0, -suffix.length)) : addr
}

function internals (libp2p: NetworkLibp2p): Internals['components'] {
  return (libp2p as unknown as Internals).components
}

export async function listenThroughRelay (libp2p: NetworkLibp2p): Promise<void> {
  await internals(libp2p).transportManager.listen([multiaddr('/p2p-circuit')])
}

/**
 * Closes the circuit listeners (which cancels their reservations), withdraws the relayed addresses
 * and lets the relays' connections be trimmed like any other. Returns the relays given up.
 */
export async function stopListeningThroughRelays (libp2p: NetworkLibp2p): Promise<PeerId[]> {
  const { transportManager, addressManager } = internals(libp2p)
  const relayed = libp2p.getMultiaddrs().filter(isCircuit)
  for (const [key, listeners] of transportManager.listeners) {
    if (key !== CIRCUIT_TRANSPORT) continue
    await Promise.all([...listeners].map(async listener => await listener.close()))
  }
  // The listener confirmed them as <relay>/p2p-circuit, without our own /p2p/ suffix.
  for (const addr of relayed) addressManager.removeObservedAddr(withoutOwnId(addr, libp2p.peerId.toString()))
  const relays: PeerId[] = []
  for (const peer of await libp2p.peerStore.all()) {
    if (!peer.tags.has(RELAY_KEEP_ALIVE_TAG)) continue
    relays.push(peer.id)
    await libp2p.peerStore.merge(peer.id, { tags: { [RELAY_KEEP_ALIVE_TAG]: undefined } })
  }
  return relays
}
