// Start-up options of a node, validated once: what `start` flags and createNode() accept.
import { z } from 'zod'
import { DEFAULT_API, DEFAULT_LISTEN, DEFAULT_REPLICAS, parseHostPort, type ReplicaTarget } from './flags.ts'

export { DEFAULT_LISTEN, DEFAULT_API, DEFAULT_REPLICAS, parseSize, parseReplicas, parseHostPort, type ReplicaTarget } from './flags.ts'

export const nodeConfigSchema = z.object({
  dataDir: z.string(),
  listen: z.string().default(DEFAULT_LISTEN),
  api: z.string().default(DEFAULT_API),
  peers: z.array(z.string()).default([]),
  replicas: z.union([z.number().int().min(1).max(64), z.literal('all')]).default(DEFAULT_REPLICAS),
  mdns: z.boolean().default(false),
  repairAfterSeconds: z.number().nonnegative().default(600),
  scrubEverySeconds: z.number().nonnegative().default(86_400),
  auditEverySeconds: z.number().nonnegative().default(300),
  maxStorageBytes: z.number().int().nonnegative().optional(),
  logLevel: z.string().default('info')
})

export type NodeConfig = z.input<typeof nodeConfigSchema>
export type ResolvedNodeConfig = z.output<typeof nodeConfigSchema>
