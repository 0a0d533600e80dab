// The start flags' formats (sizes, replica counts, HOST:PORT) and defaults, without zod: the CLI
// checks flags with these before it loads anything heavy (each CLI command pays for what it imports).
import { VaultError } from '../errors.ts'
import { parseReplicaTarget, type ReplicaTarget } from '../redundancy/index.ts'

export { DEFAULT_REPLICAS, type ReplicaTarget } from '../redundancy/index.ts'

export const DEFAULT_LISTEN = '0.0.0.0:7070'
export const DEFAULT_API = '127.0.0.1:7071'

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40
}

/** "500MB", "1.5GiB", "2g", "1048576" → bytes. */
export function parseSize (text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  const unit = match === null ? undefined : SIZE_UNITS[match[2].toLowerCase()]
  if (match === null || unit === undefined) throw new VaultError('BAD_USAGE', `not a size: ${JSON.stringify(text)} (try 500MB, 20GiB or a number of bytes)`)
  return Math.floor(Number(match[1]) * unit)
}

/** "N" (copies in all, the owner counted) or "all" (every peer keeps a copy): redundancy/'s rule. */
export function parseReplicas (text: string): ReplicaTarget {
  return parseReplicaTarget(text, '--replicas')
}

/** "host:port" with a numeric port (0 = any free port). */
export function parseHostPort (text: string, flag: string): { host: string, port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]/]+)):(\d{1,5})$/.exec(text.trim())
  const port = match === null ? NaN : Number(match[3])
  if (match === null || port > 65535) throw new VaultError('BAD_USAGE', `${flag} must be HOST:PORT, got ${JSON.stringify(text)}`)
  return { host: match[1] ?? match[2], port }
}
