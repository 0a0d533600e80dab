// DV_TUNING: the faster timers of NodeTuning for a node started by the CLI, so that tests of node
// processes do not wait on product deadlines (a hung holder's 20 s block deadline, the 30 s repair
// pass). Read only by `start`; unset (every real use), the product defaults hold. Validated here,
// at the process edge: a bad value is a usage error, never a silently ignored one.
import { z } from 'zod'
import { VaultError } from '../errors.ts'
import type { NodeTuning } from './tuning.ts'

const ms = z.number().int().min(1).max(86_400_000)

const envTuningSchema = z.object({
  /** A peer's answer to one block request (default 20 s). */
  blockTimeoutMs: ms.optional(),
  /** The owner's repair pass (default 30 s), which also retries deletions a holder missed. */
  repairEveryMs: ms.optional(),
  /** Sweep of holders for blobs this owner deleted (default 1 h). */
  sweepEveryMs: ms.optional(),
  /** A holder that (re)connects is audited this long after. */
  auditAfterConnectMs: ms.optional()
}).strict()

export type EnvTuning = Pick<NodeTuning, 'blockTimeoutMs' | 'repairEveryMs' | 'sweepEveryMs' | 'auditAfterConnectMs'>

export function tuningFromEnv (env: NodeJS.ProcessEnv = process.env): EnvTuning {
  const text = env.DV_TUNING
  if (text === undefined || text === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new VaultError('BAD_USAGE', 'DV_TUNING must be a JSON object, e.g. {"blockTimeoutMs":3000}')
  }
  const parsed = envTuningSchema.safeParse(value)
  if (!parsed.success) throw new VaultError('BAD_USAGE', `DV_TUNING: ${parsed.error.issues.map(i => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')}`)
  return parsed.data
}
