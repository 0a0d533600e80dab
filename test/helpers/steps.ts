// Named, bounded steps for long end-to-end tests: a step that hangs fails with its own name and
// bound (and the time every earlier step took) instead of the whole test timing out with no clue
// where. Each step's time goes out as a diagnostic, so a slow run shows which step grew.

export interface Steps {
  /** Runs `fn` as the step `name`; rejects if it has not settled within `ms`. */
  <T>(name: string, fn: () => Promise<T>, ms?: number): Promise<T>
}

export function steps (t: { diagnostic: (message: string) => void }, defaultMs = 60_000): Steps {
  const done: string[] = []
  return async <T>(name: string, fn: () => Promise<T>, ms = defaultMs): Promise<T> => {
    const started = Date.now()
    let timer: NodeJS.Timeout | undefined
    const bound = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`step "${name}" did not finish in ${ms} ms; the steps before it: ${done.join(', ') || 'none'}`)), ms)
    })
    try {
      return await Promise.race([fn(), bound])
    } finally {
      clearTimeout(timer)
      const took = `${name} ${Date.now() - started} ms`
      done.push(took)
      t.diagnostic(took)
    }
  }
}
