// Counters of the messenger: what was accepted, and what was dropped and why.

export interface MessengerStats {
  /** Messages accepted, direct and to all (each once, however many copies arrived). */
  received: number
  /** Announcements accepted. */
  announcements: number
  dropped: {
    forged: number
    oversized: number
    malformed: number
    /** Flooded envelopes sent too long ago (a replay, or a clock far off). */
    stale: number
    /** Messages and announcements over their sender's rate (a flood). */
    rateLimited: number
  }
}

export function emptyStats (): MessengerStats {
  return { received: 0, announcements: 0, dropped: { forged: 0, oversized: 0, malformed: 0, stale: 0, rateLimited: 0 } }
}
