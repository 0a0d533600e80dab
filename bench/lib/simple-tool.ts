// Spawns the simple tool (simple-tool-child.ts) in its own process: seal the file, then open the
// sealed result again, each timed inside the child. See simple-tool-child.ts for what it does.
import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const CHILD = fileURLToPath(new URL('./simple-tool-child.ts', import.meta.url))

export interface SimpleToolResult {
  /** Plaintext bytes processed. */
  bytes: number
  /** Put-side limit: read, SHA-256, AES-256-GCM seal, SHA-256, write, fsync. */
  sealSeconds: number
  /** Get-side limit: read, verify SHA-256, AES-256-GCM open, write. */
  openSeconds: number
  /** CPU seconds (user + system) the child spent on each: robust to a busy machine, unlike wall time. */
  sealCpuSeconds: number
  openCpuSeconds: number
}

export async function measureSimpleTool (nodeBin: string, input: string, scratch: string): Promise<SimpleToolResult> {
  const sealed = join(scratch, 'simple.sealed')
  const index = join(scratch, 'simple.index.json')
  const output = join(scratch, 'simple.out')
  try {
    const s = await child(nodeBin, ['seal', input, sealed, index])
    const o = await child(nodeBin, ['open', sealed, index, output])
    if (s.bytes !== o.bytes) throw new Error(`simple tool: sealed ${s.bytes} bytes but opened ${o.bytes}`)
    return { bytes: s.bytes, sealSeconds: s.seconds, openSeconds: o.seconds, sealCpuSeconds: s.cpuSeconds, openCpuSeconds: o.cpuSeconds }
  } finally {
    // Deleting the outputs also drops their dirty pages, so no write-back leaks into the next step.
    await Promise.all([sealed, index, output].map(async (p) => await rm(p, { force: true })))
  }
}

async function child (nodeBin: string, args: string[]): Promise<{ bytes: number, seconds: number, cpuSeconds: number }> {
  const { stdout } = await run(nodeBin, [CHILD, ...args], { maxBuffer: 1 << 20 })
  return JSON.parse(stdout.trim()) as { bytes: number, seconds: number, cpuSeconds: number }
}
