// The peers a node was connected to, remembered across restarts (<data dir>/peers.json): a node
// that comes back dials them as well as its --peer addresses. Without it, a node whose --peer
// addresses are all gone (those nodes down, or back on other ports) stays alone for good although
// it knew the rest of the network a minute before, and a node alone has no holders for its copies
// (found by the SIGKILL loop: one restart with a fresh port, its only bootstrap killed before the
// peer exchange, and the network split for good). On the LAN mesh only: with the DHT, the routing
// table and the bootstrap addresses do this job.
//
// The file is a hint, not an authority: it is read through a schema, bounded, and a damaged or
// foreign file is ignored with a warning (the node then starts with its --peer addresses only);
// a remembered peer is dialled like one heard of by peer exchange, given up after a few failures.
import { readFile } from 'node:fs/promises'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { z } from 'zod'
import { writeFileAtomic } from '../atomic/index.ts'
import { dialableAddrsOf } from './peer-addrs.ts'

/** Peers remembered at most (the most recently seen); their listen addresses at most. */
export const MAX_REMEMBERED_PEERS = 64
const MAX_ADDRS = 8
/** A peer not seen for this long is forgotten (a member that left is not dialled forever). */
const MAX_AGE_MS = 30 * 24 * 3600_000

const PeerMemoryFile = z.object({
  version: z.literal(1),
  peers: z.array(z.object({
    id: z.string().max(128),
    addrs: z.array(z.string().max(512)).max(MAX_ADDRS),
    seenAt: z.number().int().nonnegative()
  }).strict()).max(MAX_REMEMBERED_PEERS)
}).strict()

export interface RememberedPeer { id: string, addrs: Multiaddr[] }

export class PeerMemory {
  private readonly path: string
  private readonly log: Logger
  private readonly saveDelayMs: number
  private readonly peers = new Map<string, { addrs: string[], seenAt: number }>()
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> = Promise.resolve()

  constructor (path: string, log: Logger, saveDelayMs = 2_000) {
    this.path = path
    this.log = log
    this.saveDelayMs = saveDelayMs
  }

  /** The peers of the file (most recently seen first), checked; none if it is missing or damaged. */
  async load (selfId: string): Promise<RememberedPeer[]> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ file: this.path, err: (err as Error).message }, 'could not read the remembered peers; starting with the --peer addresses only')
      return []
    }
    let parsed: z.infer<typeof PeerMemoryFile>
    try {
      parsed = PeerMemoryFile.parse(JSON.parse(text))
    } catch {
      this.log.warn({ file: this.path }, 'the remembered peers file is damaged; ignored (it is rewritten as peers connect)')
      return []
    }
    const remembered: RememberedPeer[] = []
    // Oldest first into the Map, whose order is the order of last sight (seen() evicts its head).
    for (const entry of [...parsed.peers].sort((a, b) => a.seenAt - b.seenAt)) {
      if (entry.id === selfId || this.peers.has(entry.id) || Date.now() - entry.seenAt > MAX_AGE_MS) continue
      const addrs = dialableAddrsOf(entry.id, entry.addrs)
      if (addrs.length === 0) continue
      this.peers.set(entry.id, { addrs: addrs.map(String), seenAt: entry.seenAt })
      remembered.push({ id: entry.id, addrs })
    }
    return remembered.reverse()
  }

  /** A peer we are connected to listens at `addrs` (identify): remember it (saved soon). */
  seen (id: string, addrs: Multiaddr[]): void {
    if (addrs.length === 0) return
    this.peers.delete(id) // re-inserted last: the Map's order is the order of last sight
    this.peers.set(id, { addrs: addrs.slice(0, MAX_ADDRS).map(String), seenAt: Date.now() })
    while (this.peers.size > MAX_REMEMBERED_PEERS) this.peers.delete(this.peers.keys().next().value!)
    if (this.timer === undefined) {
      this.timer = setTimeout(() => { this.timer = undefined; void this.save() }, this.saveDelayMs)
      this.timer.unref()
    }
  }

  /** Writes what is pending now (at stop). */
  async flush (): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer)
      this.timer = undefined
      await this.save()
    }
    await this.writing
  }

  /** One write at a time, the latest state; a failure (disk full, read-only) is logged, never thrown. */
  private async save (): Promise<void> {
    const peers = [...this.peers].map(([id, p]) => ({ id, addrs: p.addrs, seenAt: p.seenAt }))
    const text = JSON.stringify({ version: 1, peers }) + '\n'
    this.writing = this.writing.then(async () => {
      await writeFileAtomic(this.path, text, 0o600)
    }).catch((err: unknown) => {
      this.log.warn({ file: this.path, err: (err as Error).message }, 'could not save the remembered peers')
    })
    await this.writing
  }
}
