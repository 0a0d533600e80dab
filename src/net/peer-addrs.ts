// Addresses another party gave us for a peer (peer exchange, the remembered peers file), reduced
// to the ones we may dial. Apart from addresses.ts, which the CLI loads and must stay free of
// libp2p's peer-id module.
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isDialableTcp, parseMultiaddrOrNull, peerIdOf, withPeerId } from './addresses.ts'

/**
 * The addresses another party gave for peer `id` (peer exchange, the remembered peers file) that we
 * may dial: valid multiaddrs, plain TCP, naming no other peer; with /p2p/<id>. None when `id` is not
 * a peer ID.
 */
export function dialableAddrsOf (id: string, texts: readonly string[]): Multiaddr[] {
  try {
    peerIdFromString(id)
  } catch {
    return []
  }
  return texts
    .map(parseMultiaddrOrNull)
    .filter((ma): ma is Multiaddr => ma != null && isDialableTcp(ma) && (peerIdOf(ma) ?? id) === id)
    .map(ma => withPeerId(ma, id))
}
