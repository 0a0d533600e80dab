// Many nodes in one test process over real TCP on 127.0.0.1: start N (one network key, each
// bootstrapped from the first), wait until they all see each other, stop them all even on failure.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pino } from 'pino'
import { createNode, initDataDir, type VaultNode, type NodeConfig, type NodeTuning } from '../../src/index.ts'
import { waitForMesh } from './wait.ts'
import { sealChunk, sealManifest } from '../../src/crypto/index.ts'

export const FAST_TIMING = { redialInitialMs: 200, redialMaxMs: 1_000, pingIntervalMs: 1_000, peerExchangeDelayMs: 50, requestTimeoutMs: 3_000 }

export interface Cluster {
  nodes: VaultNode[]
  root: string
  /** Recovery phrase of each node, by node ID. */
  phrases: Map<string, string>
  networkKeyFile: string
  /** Starts one more node of this network (or restarts a stopped one on its data dir); `tuning` adds to the cluster's. */
  add: (overrides?: Partial<NodeConfig>, dataDir?: string, tuning?: NodeTuning) => Promise<VaultNode>
  stop: () => Promise<void>
}

/** `tuning`: merged over the harness's fast timers (a test of many nodes may want calmer ones). */
export async function startCluster (t: { after: (fn: () => Promise<void>) => void }, size: number, overrides: Partial<NodeConfig> = {}, tuning: NodeTuning = {}): Promise<Cluster> {
  const root = await mkdtemp(join(tmpdir(), 'dv-cluster-'))
  const nodes: VaultNode[] = []
  let count = 0
  const log = pino({ level: process.env.DV_TEST_LOG ?? 'silent' })
  const firstDir = join(root, 'n0')
  const phrases = new Map<string, string>()
  const first = await initDataDir({ dataDir: firstDir })
  phrases.set(first.nodeId, first.phrase!)
  const networkKeyFile = join(firstDir, 'network.key')
  const add = async (more: Partial<NodeConfig> = {}, dataDir?: string, moreTuning: NodeTuning = {}): Promise<VaultNode> => {
    const dir = dataDir ?? join(root, `n${count++}`)
    if (dataDir === undefined && dir !== firstDir) {
      const made = await initDataDir({ dataDir: dir, joinKeyFile: networkKeyFile })
      phrases.set(made.nodeId, made.phrase!)
    }
    const bootstrap = nodes.find(n => n.networking !== undefined)
    const node = await createNode({
      dataDir: dir,
      listen: '127.0.0.1:0',
      api: '127.0.0.1:0',
      peers: bootstrap === undefined ? [] : [bootstrap.status().addresses[0]],
      ...overrides,
      ...more
    }, { log, networkTiming: FAST_TIMING, repairEveryMs: 500, blockTimeoutMs: 5_000, ...tuning, ...moreTuning })
    nodes.push(node)
    return node
  }
  const stop = async (): Promise<void> => {
    await Promise.allSettled(nodes.map(async n => await n.stop()))
    await rm(root, { recursive: true, force: true })
  }
  t.after(stop)
  for (let i = 0; i < size; i++) await add()
  await waitForMesh(nodes.slice(0, size))
  return { nodes, root, phrases, networkKeyFile, add, stop }
}


export async function putBytes (node: VaultNode, name: string, bytes: Buffer, replicas?: number | 'all'): Promise<Awaited<ReturnType<VaultNode['vault']['put']>>> {
  return await node.vault.put(Readable.from([bytes]), { name, replicas })
}

export async function readBytes (node: VaultNode, ref: string): Promise<Buffer> {
  const file = await node.vault.open(ref)
  const parts: Buffer[] = []
  for await (const part of node.vault.read(file)) parts.push(part)
  return Buffer.concat(parts)
}

/**
 * `node`'s disk is lost: it stops, its data dir goes, and a new data dir restored from its phrase
 * (same node ID) starts as `dirName` and joins the others again. Resolves with the new node;
 * `recover` is the caller's to run.
 */
export async function replaceDisk (cluster: Cluster, node: VaultNode, dirName: string): Promise<VaultNode> {
  const phrase = cluster.phrases.get(node.nodeId)!
  const others = cluster.nodes.filter(n => n !== node && n.nodeId !== node.nodeId && n.networking !== undefined)
  await node.stop()
  await rm(node.paths.root, { recursive: true, force: true })
  const dataDir = join(cluster.root, dirName)
  // Not cluster.networkKeyFile: that is in the first node's data dir, which may be the one lost.
  await initDataDir({ dataDir, recoverPhrase: phrase, joinKeyFile: others[0].paths.networkKey })
  const again = await cluster.add({}, dataDir)
  await waitForMesh([again, ...others])
  return again
}

/** What a put of `name` killed midway leaves: its one chunk and its manifest on `holders`, no record. */
export async function killedPut (owner: VaultNode, holders: VaultNode[], name: string, size: number): Promise<void> {
  const plain = randomBytes(size)
  const chunk = await sealChunk(owner.identity.vaultKey, Buffer.from(plain))
  const at = new Date().toISOString()
  const manifest = sealManifest(owner.identity.vaultKey, { v: 1, name, size, mtime: at, ctime: at, chunks: [{ id: chunk.id, key: chunk.key, size }], target: 3 })
  for (const holder of holders) {
    await owner.networking!.client.putBlob(holder.nodeId, owner.nodeId, chunk.id, chunk.sealed)
    await owner.networking!.client.putBlob(holder.nodeId, owner.nodeId, manifest.id, manifest.sealed)
  }
}

export { waitFor, waitForMesh } from './wait.ts'
