// Start-up options of a node, validated once: what `start` flags and createNode() accept.
import { z } from 'zod'
import { DEFAULT_API, DEFAULT_LISTEN, DEFAULT_REPLICAS, parseHostPort, type ReplicaTarget } from './flags.ts'
import { isReplicaTarget, REPLICAS_RULE } from '../redundancy/index.ts'

export { DEFAULT_LISTEN, DEFAULT_API, DEFAULT_REPLICAS, parseSize, parseReplicas, parseHostPort, type ReplicaTarget } from './flags.ts'

export const nodeConfigSchema = z.object({
  dataDir: z.string(),
  listen: z.string().default(DEFAULT_LISTEN),
  api: z.string().default(DEFAULT_API),
  peers: z.array(z.string()).default([]),
  replicas: z.custom<ReplicaTarget>(isReplicaTarget, `replicas must be ${REPLICAS_RULE}`).default(DEFAULT_REPLICAS),
  mdns: z.boolean().default(false),
  repairAfterSeconds: z.number().nonnegative().default(600),
  scrubEverySeconds: z.number().nonnegative().default(86_400),
  auditEverySeconds: z.number().nonnegative().default(300),
  /** Cap on what this node holds for others; default: what it holds now + half the free disk. */
  maxStorageBytes: z.number().int().nonnegative().optional(),
  /** Quota of any one other owner on this node; default: a quarter of the storage cap. */
  maxPerOwnerBytes: z.number().int().nonnegative().optional(),
  /** Memory for inbound PUT bodies in all, and per peer (see replication's DEFAULT_INBOUND_BUDGET). */
  inboundBufferBytes: z.number().int().nonnegative().optional(),
  inboundBufferPerPeerBytes: z.number().int().nonnegative().optional(),
  /** Messages (direct and to all) accepted from one sender: a burst, then so many per second. */
  messageBurst: z.number().int().min(1).default(100),
  messageRatePerSecond: z.number().positive().default(20),
  /** Overrides of the network's connection limits (net's DEFAULT_LIMITS), for embedders and tests. */
  networkLimits: z.record(z.string(), z.number().nonnegative()).optional(),
  logLevel: z.string().default('info'),
  /** Beyond one LAN (issue 16): Kademlia DHT + gossipsub instead of peer exchange + flooding. */
  dht: z.boolean().default(false),
  /** Offer a circuit relay to the members (implies dht). */
  relay: z.boolean().default(false),
  /** This node is behind NAT: DHT client, reachable through a relay (implies dht). */
  behindNat: z.boolean().default(false),
  /** Chained replication (chain/1, issue 17): take chained copies and hand them on, and put with
   * chains. false: neither, as a node before chains (for embedders and mixed-version tests). */
  chain: z.boolean().default(true),
  /** Connections kept at most (default 48 with the DHT, 128 on the LAN mesh). */
  maxConnections: z.number().int().min(4).max(10_000).optional()
})

export type NodeConfig = z.input<typeof nodeConfigSchema>
export type ResolvedNodeConfig = z.output<typeof nodeConfigSchema>
