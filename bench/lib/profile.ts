// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per area
// (the product's own folders, each dependency, Node internals, GC, idle).
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export interface ProfileSummary {
  file: string
  /** Wall time covered by the profile, ms. */
  totalMs: number
  /** Time not idle, ms. */
  busyMs: number
  areas: Array<{ area: string, ms: number }>
  functions: Array<{ fn: string, area: string, ms: number }>
}

/** The newest .cpuprofile in `dir`. */
export async function newestProfile (dir: string): Promise<string | undefined> {
  const names = (await readdir(dir).catch(() => [])).filter((n) => n.endsWith('.cpuprofile')).sort()
  return names.length === 0 ? undefined : join(dir, names[names.length - 1])
}

export async function summariseProfile (file: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  // timeDeltas[i] is the time between sample i-1 and sample i; attribute it to sample i's node.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const areas = new Map<string, number>()
  const fns = new Map<string, { area: string, us: number }>()
  let idleUs = 0
  let totalUs = 0
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame
    if (frame === undefined) continue
    totalUs += us
    const area = areaOf(frame)
    if (area === '(idle)') { idleUs += us; continue }
    areas.set(area, (areas.get(area) ?? 0) + us)
    const name = `${frame.functionName === '' ? '(anonymous)' : frame.functionName} ${shortUrl(frame.url)}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`
    const entry = fns.get(name) ?? { area, us: 0 }
    entry.us += us
    fns.set(name, entry)
  }
  return {
    file,
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    areas: [...areas].map(([area, us]) => ({ area, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
    functions: [...fns].map(([fn, e]) => ({ fn, area: e.area, ms: e.us / 1000 })).sort((a, b) => b.ms - a.ms).slice(0, top)
  }
}

function areaOf (frame: CallFrame): string {
  const { url, functionName } = frame
  if (url === '') {
    if (functionName === '(idle)') return '(idle)'
    if (functionName === '(garbage collector)') return '(gc)'
    if (functionName === '(program)') return '(program)'
    return '(native)'
  }
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (dep !== null) return dep[1]
  if (url.startsWith('node:')) return 'node internals'
  const own = /\/(?:dist|src)\/([^/]+)\//.exec(url)
  if (own !== null) return `src/${own[1]}`
  return shortUrl(url)
}

function shortUrl (url: string): string {
  const dep = /node_modules\/(.*)$/.exec(url)
  if (dep !== null) return dep[1]
  const own = /\/((?:dist|src)\/.*)$/.exec(url)
  if (own !== null) return own[1]
  return url.replace(/^file:\/\//, '')
}
