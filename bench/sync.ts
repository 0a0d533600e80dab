// Section "sync": a synced folder of 10,000 small files (1–16 KiB in 100 folders), default debounce
// (1 s of quiet): the first version, the time from one changed file to its version, and the scan
// that finds nothing changed — next to a bare recursive readdir + lstat of the same tree in this
// process (the machine's floor for looking at every entry).
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { createNode, type VaultNode } from '../src/index.ts'
import { treeDiffers } from '../src/sync/tree-diff.ts'
import { round } from './lib/stats.ts'
import type { BenchContext } from './lib/types.ts'

export const title = 'sync: a folder of 10,000 files kept stored; change → version, and the no-change scan'

const FILES = 10_000

async function until (what: string, check: () => boolean, timeoutMs = 600_000): Promise<number> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return (Date.now() - started) / 1000
}

async function bareWalk (dir: string): Promise<number> {
  let n = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    await lstat(full)
    n++
    if (entry.isDirectory()) n += await bareWalk(full)
  }
  return n
}

export default async function sync (ctx: BenchContext): Promise<Record<string, number>> {
  const root = await ctx.tempDir('sync-')
  const src = join(root, 'tree')
  for (let i = 0; i < FILES; i++) {
    const dir = join(src, `d${Math.floor(i / 100)}`)
    if (i % 100 === 0) await mkdir(dir, { recursive: true })
    await writeFile(join(dir, `f${i}.bin`), randomBytes(1024 + (i * 1531) % (15 * 1024)))
  }
  const node: VaultNode = await createNode({ dataDir: join(root, 'data'), listen: '127.0.0.1:0', api: '127.0.0.1:0', replicas: 1 }, { log: pino({ level: 'silent' }) })
  ctx.onCleanup(async () => { await node.stop() })
  const version = (): number => node.status().sync[0]?.lastVersion ?? 0
  const firstStarted = Date.now()
  await node.syncs!.add({ dir: src, name: 'tree' })
  await until('the first version', () => version() === 1)
  const firstSeconds = (Date.now() - firstStarted) / 1000
  ctx.log(`first version: ${firstSeconds} s`)

  const changes: number[] = []
  const scans: number[] = []
  const walks: number[] = []
  for (let round = 0; round < ctx.options.repeat; round++) {
    const before = version()
    await writeFile(join(src, 'd42', `f${4200 + round}.bin`), randomBytes(4096))
    changes.push(await until('the version of one change', () => version() === before + 1))
    let started = performance.now()
    const differs = await treeDiffers(node.vault, 'tree', src, undefined)
    scans.push((performance.now() - started) / 1000)
    if (differs) throw new Error('the scan saw a difference in an unchanged folder')
    started = performance.now()
    await bareWalk(src)
    walks.push((performance.now() - started) / 1000)
  }
  const best = (xs: number[]): number => Math.min(...xs)
  ctx.table(title, ['measure', 'seconds (best)', 'all rounds'], [
    ['first version (10,000 files)', round(firstSeconds, 2), '-'],
    ['one change → its version (1 s quiet included)', round(best(changes), 2), changes.map(x => round(x, 2)).join(' ')],
    ['no-change scan (walk + stored listing)', round(best(scans), 3), scans.map(x => round(x, 3)).join(' ')],
    ['bare readdir + lstat of the tree (floor)', round(best(walks), 3), walks.map(x => round(x, 3)).join(' ')]
  ])
  return { firstVersionSeconds: firstSeconds, changeToVersionSeconds: best(changes), noChangeScanSeconds: best(scans), bareWalkSeconds: best(walks), scanOverWalk: best(scans) / best(walks) }
}
