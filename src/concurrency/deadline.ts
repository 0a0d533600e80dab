// A promise raced against a signal: the caller stops waiting when the signal aborts, whether or not
// the work below honours it. The safety net for an operation that must return (an audit, a holder's
// disk read): a layer that loses its deadline then costs its own work, never its caller's.

/** `work`'s result, or the signal's reason as soon as it aborts (`work` goes on, unobserved). */
export async function settleBy<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  // A late failure of the abandoned work is not an unhandled rejection — also when the signal had
  // aborted before the call, so this comes first (a caller that stopped while it was building
  // `work` left it rejected and unobserved: seen as a failing stop in the suite).
  work.catch(() => {})
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort!)
  }
}
