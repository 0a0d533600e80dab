// Small numeric helpers: throughput, best and spread of repeated measurements, formatting.

export const MiB = 1024 * 1024

/** MB/s with MB = 10^6 bytes. */
export function mbps (bytes: number, seconds: number): number {
  return bytes / 1e6 / seconds
}

export function max (values: number[]): number { return Math.max(...values) }
export function min (values: number[]): number { return Math.min(...values) }

export function median (values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** (max − min) / max, in percent: how far apart the repeated rounds were. */
export function spreadPct (values: number[]): number {
  const hi = max(values)
  return hi === 0 ? 0 : (hi - min(values)) / hi * 100
}

/** Rounds for display and for the JSON line (3 significant decimals at most). */
export function round (value: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

export function fmt (value: number | string): string {
  if (typeof value === 'string') return value
  if (!Number.isFinite(value)) return String(value)
  if (Number.isInteger(value)) return String(value)
  const abs = Math.abs(value)
  return value.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3)
}
