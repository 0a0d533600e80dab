// What each code a holder answers a copy with means to a user: the CLI's put warning and the
// dashboard's badges word a shortfall the same way.

/** Codes a holder answers on purpose (a refusal), and what each means to a user. */
export const REFUSAL_WORDS: Record<string, string> = {
  DISK_FULL: 'disk full',
  STORAGE_FULL: 'storage limit reached',
  BUSY: 'busy',
  FORBIDDEN: 'forbidden'
}

/** Codes of a copy that failed on the way (the holder never answered, or answered garbage). */
export const FAILURE_WORDS: Record<string, string> = {
  TIMEOUT: 'timed out',
  UNREACHABLE: 'unreachable',
  INTERNAL: 'internal error',
  PEER_ERROR: 'error'
}

/** A code in words: "disk full", or the code itself in lower case when it is not one we know. */
export function shortfallWords (code: string): string {
  return REFUSAL_WORDS[code] ?? FAILURE_WORDS[code] ?? code.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim()
}
