// For programs embedding a node, and tests: a logger, and faster timers than a real network wants.
import type { Logger } from 'pino'
import type { NetworkTiming } from '../net/index.ts'
import type { SyncTiming } from '../sync/index.ts'
import type { ServeFault } from '../replication/index.ts'

export interface NodeTuning {
  log?: Logger
  networkTiming?: Partial<NetworkTiming>
  repairEveryMs?: number
  blockTimeoutMs?: number
  /** A holder that (re)connects is audited this long after. */
  auditAfterConnectMs?: number
  /** Bytes of own copies read to check holders' proofs per audit period. */
  auditBudgetBytes?: number
  /** Read-rate cap of the background scrub (default 4 MiB/s). */
  scrubBytesPerSecond?: number
  /** How often holders are swept for blobs this owner deleted. */
  sweepEveryMs?: number
  /** Folder sync's debounce and retry times. */
  syncTiming?: Partial<SyncTiming>
  /** Tests only: this node, as a holder, delays or corrupts the blobs it serves (see BlockServer). */
  serveFault?: ServeFault
}
