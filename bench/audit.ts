// Section "audit": how fast an owner notices that a holder came back from a disk replacement with
// the same ID and an empty folder, and how fast repair refills it (default audit settings); and
// the on-demand scrub's read rate against a bare SHA-256 pass over the same bytes in this process.
import { createHash, randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pino } from 'pino'
import { createNode, initDataDir, type VaultNode } from '../src/index.ts'
import { MiB, mbps, round } from './lib/stats.ts'
import type { BenchContext } from './lib/types.ts'

export const title = 'audit: a holder back with an empty disk is noticed and refilled; scrub read rate'

const TIMING = { redialInitialMs: 200, redialMaxMs: 1_000, pingIntervalMs: 1_000, peerExchangeDelayMs: 50 }
const log = pino({ level: 'silent' })

async function until (what: string, check: () => boolean, timeoutMs = 120_000): Promise<number> {
  const started = Date.now()
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return (Date.now() - started) / 1000
}

async function start (dataDir: string, peers: string[]): Promise<VaultNode> {
  return await createNode({ dataDir, listen: '127.0.0.1:0', api: '127.0.0.1:0', peers, replicas: 3 }, { log, networkTiming: TIMING })
}

const meshed = (nodes: VaultNode[]): boolean => nodes.every(n => nodes.every(m => m === n || n.networking?.network.isConnected(m.nodeId) === true))

export default async function audit (ctx: BenchContext): Promise<Record<string, number>> {
  const root = await ctx.tempDir('audit-')
  const nodes: VaultNode[] = []
  ctx.onCleanup(async () => { await Promise.allSettled(nodes.map(async n => await n.stop())) })
  const dirs = ['n1', 'n2', 'n3'].map(name => join(root, name))
  const made = await initDataDir({ dataDir: dirs[0] })
  const keyFile = join(dirs[0], 'network.key')
  const phrases = [made.phrase!]
  for (const dir of dirs.slice(1)) phrases.push((await initDataDir({ dataDir: dir, joinKeyFile: keyFile })).phrase!)
  for (const dir of dirs) nodes.push(await start(dir, nodes.length === 0 ? [] : [nodes[0].status().addresses[0]]))
  await until('the mesh', () => meshed(nodes))
  const [owner, holder] = nodes
  const totalBytes = Math.min(64 * MiB, ctx.options.fileBytes)
  const putStarted = process.hrtime.bigint()
  for (let i = 0; i < totalBytes / (4 * MiB); i++) await owner.vault.put(Readable.from([randomBytes(4 * MiB)]), { name: `f${i}.bin` })
  const putSeconds = Number(process.hrtime.bigint() - putStarted) / 1e9
  const held = (node: VaultNode): number => node.vault.store.usage()[owner.nodeId] ?? 0
  const want = held(nodes[2])

  ctx.log(`audit: replacing the disk of a holder of ${round(want / MiB, 1)} MiB`)
  await holder.stop()
  await rm(dirs[1], { recursive: true, force: true })
  await initDataDir({ dataDir: dirs[1], recoverPhrase: phrases[1], joinKeyFile: join(dirs[2], 'network.key') })
  const replaced = await start(dirs[1], [nodes[2].status().addresses[0]])
  nodes[1] = replaced
  await until('the replaced holder to reconnect', () => meshed(nodes))
  const dropped = owner.networking!.auditor.summary().dropped
  const detect = await until('the owner to notice', () => owner.networking!.auditor.summary().dropped > dropped)
  const refill = detect + await until('the copies to be remade', () => held(replaced) >= want && owner.vault.list().every(f => f.replicas === 3))

  const scrubStarted = process.hrtime.bigint()
  const scrubbed = await owner.scrub()
  const scrubSeconds = Number(process.hrtime.bigint() - scrubStarted) / 1e9
  const shaStarted = process.hrtime.bigint()
  const block = randomBytes(4 * MiB)
  for (let done = 0; done < scrubbed.bytes; done += block.length) createHash('sha256').update(block).digest()
  const shaSeconds = Number(process.hrtime.bigint() - shaStarted) / 1e9
  return {
    detect_s: round(detect, 2),
    refill_s: round(refill, 2),
    refill_mbps: round(mbps(want, refill - detect), 1),
    // The same bytes put with 3 copies (2 uploads each) in this run: what the links and cores give.
    put_mbps: round(mbps(totalBytes, putSeconds), 1),
    scrub_mbps: round(mbps(scrubbed.bytes, scrubSeconds), 1),
    scrub_vs_sha256: round(shaSeconds / scrubSeconds, 2)
  }
}
