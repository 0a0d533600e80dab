// Asks holders for one blob in order, first answer wins: the next holder is asked at once when one
// fails, and alongside when one is slow (hedging), never more than `width` at a time.
import { VaultError } from '../errors.ts'

export interface FetchRaceOptions {
  /** Most holders asked at once. */
  width: number
  /** Ask one more holder when nothing answered for this long. */
  hedgeAfterMs: number
  signal?: AbortSignal
  /** Names the thing fetched in the final error, e.g. "blob 1a2b3c…". */
  what: string
}

export async function fetchFromFirst<T> (peers: string[], attempt: (peer: string, signal: AbortSignal) => Promise<T>, options: FetchRaceOptions): Promise<T> {
  const { width, hedgeAfterMs, signal, what } = options
  const losers = new AbortController()
  const attemptSignal = signal == null ? losers.signal : AbortSignal.any([signal, losers.signal])
  const failures: VaultError[] = []
  return await new Promise<T>((resolve, reject) => {
    let next = 0
    let running = 0
    let settled = false
    let hedge: NodeJS.Timeout | undefined
    const finish = (settle: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(hedge)
      signal?.removeEventListener('abort', onAbort)
      losers.abort(new Error('another holder answered first'))
      settle()
    }
    const onAbort = (): void => finish(() => reject(signal?.reason))
    const launch = (): void => {
      if (settled || next >= peers.length || running >= width) return
      const peer = peers[next++]
      running++
      attempt(peer, attemptSignal).then(value => finish(() => resolve(value)), (err: unknown) => {
        running--
        failures.push(err instanceof VaultError ? err : new VaultError('PEER_ERROR', String((err as Error)?.message ?? err)))
        if (next < peers.length) launch()
        else if (running === 0) finish(() => reject(summarise(what, failures)))
      })
      clearTimeout(hedge)
      if (next < peers.length && running < width) hedge = setTimeout(launch, hedgeAfterMs)
    }
    if (signal?.aborted === true) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })
    launch()
  })
}

/** NOT_FOUND when every holder asked said so; otherwise UNREACHABLE, with what each one did. */
function summarise (what: string, failures: VaultError[]): VaultError {
  const counts = new Map<string, number>()
  for (const err of failures) counts.set(err.code, (counts.get(err.code) ?? 0) + 1)
  const detail = [...counts].map(([code, n]) => `${n} ${code}`).join(', ')
  const code = counts.size === 1 && counts.has('NOT_FOUND') ? 'NOT_FOUND' : 'UNREACHABLE'
  return new VaultError(code, `${what} could not be fetched from ${failures.length} peer(s) (${detail})`, { cause: failures[0] })
}
