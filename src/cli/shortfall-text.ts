// The words of put's under-replication warning: why the copies are missing, from the reasons the
// node reports (holders per refusal code, NO_PEERS), e.g. "2 holders refused: disk full".
// The words themselves from their leaf module: api/index.ts would load the node's whole stack
// (fastify, libp2p: ~0.6 CPU-s) into every `put` (eslint.config.js, CLI_LIGHT_MODULES).
import { REFUSAL_WORDS as REFUSED, shortfallWords } from '../api/shortfall-words.ts'
import type { ShortfallView } from '../api/index.ts'

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

function group (entries: Array<[string, number]>, verb: string): string | undefined {
  if (entries.length === 0) return undefined
  const total = entries.reduce((n, [, count]) => n + count, 0)
  const what = shortfallWords
  const detail = entries.length === 1 ? what(entries[0][0]) : entries.map(([code, count]) => `${count} ${what(code)}`).join(', ')
  return `${plural(total, 'holder')} ${verb}: ${detail}`
}

/** "2 holders refused: disk full; not enough peers", or "not enough peers" when nothing refused. */
export function describeShortfall (shortfall: ShortfallView | undefined): { why: string, refusals: boolean } {
  const reasons = Object.entries(shortfall?.reasons ?? {}).filter(([code, n]) => /^[A-Z_]{1,40}$/.test(code) && Number.isInteger(n) && n > 0)
  const refused = reasons.filter(([code]) => code in REFUSED)
  const failed = reasons.filter(([code]) => code !== 'NO_PEERS' && !(code in REFUSED))
  const parts = [group(refused, 'refused'), group(failed, 'failed')].filter((p): p is string => p !== undefined)
  if (parts.length === 0 || reasons.some(([code]) => code === 'NO_PEERS')) parts.push('not enough peers')
  return { why: parts.join('; '), refusals: refused.length + failed.length > 0 }
}

/** The whole warning line for a put short of its copy target. */
export function underReplicatedWarning (name: string, replicas: number, target: number | 'all', shortfall: ShortfallView | undefined): string {
  const { why, refusals } = describeShortfall(shortfall)
  const then = refusals ? 'the missing copies are made as soon as peers can take them' : 'the missing copies are made as soon as peers appear'
  return `warning: ${name} is under-replicated: ${replicas} of ${target} copies (${why}); ${then}\n`
}
