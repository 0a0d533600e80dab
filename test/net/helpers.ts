// Test harness for network and messaging tests: starts real networks on 127.0.0.1 (fast timings),
// temp dirs and SQLite files, waits for conditions with a loud timeout, and cleans everything up
// through the test's own `after` hook, so a failing test leaves nothing running.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { DatabaseSync } from 'node:sqlite'
import type { TestContext } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { pino, type Logger } from 'pino'
import { createNetwork, generateNetworkKey, type Network, type NetworkOptions, type NetworkTiming } from '../../src/net/index.ts'
import { migrateCatalog } from '../../src/catalog/index.ts'
import { createMessenger, type Messenger, type MessengerTiming, type SenderRateOptions } from '../../src/messaging/index.ts'

export const TEST_TIMING: NetworkTiming = {
  redialInitialMs: 150,
  redialMaxMs: 1_500,
  pingIntervalMs: 2_000,
  peerExchangeDelayMs: 100,
  requestTimeoutMs: 3_000
}



/** Log lines a test can look at; printed too when DV_TEST_LOG is set (e.g. DV_TEST_LOG=debug). */
export interface CapturedLog {
  log: Logger
  lines: Array<Record<string, unknown>>
}

export function captureLog (name: string): CapturedLog {
  const lines: Array<Record<string, unknown>> = []
  const echo = process.env.DV_TEST_LOG
  const sink = new Writable({
    write (chunk: Buffer, _enc, done) {
      const line = JSON.parse(chunk.toString()) as Record<string, unknown>
      lines.push(line)
      if (echo != null) process.stderr.write(chunk)
      done()
    }
  })
  const log = pino({ level: echo ?? 'info', base: { node: name } }, sink)
  return { log, lines }
}

export interface TestNode {
  name: string
  network: Network
  privateKey: PrivateKey
  nodeId: string
  logs: CapturedLog
  /** The first 127.0.0.1 listen address, with /p2p/. */
  address: string
}

export interface NodeOptions extends Partial<Omit<NetworkOptions, 'log'>> {
  name?: string
}

export class Harness {
  readonly networkKey = generateNetworkKey()
  private readonly cleanups: Array<() => Promise<void> | void> = []
  private count = 0

  constructor (t: TestContext) {
    t.after(async () => {
      // Last registered, first cleaned: messengers before networks, networks before dirs.
      for (const cleanup of this.cleanups.reverse()) {
        try {
          await cleanup()
        } catch (err) {
          process.stderr.write(`cleanup failed: ${(err as Error).message}\n`)
        }
      }
    })
  }

  onCleanup (cleanup: () => Promise<void> | void): void {
    this.cleanups.push(cleanup)
  }

  async node (options: NodeOptions = {}): Promise<TestNode> {
    const name = options.name ?? `n${this.count++}`
    const privateKey = options.privateKey ?? await generateKeyPair('Ed25519')
    const logs = captureLog(name)
    const network = createNetwork({
      networkKey: this.networkKey,
      listen: '127.0.0.1:0',
      bootstrap: [],
      mdns: false,
      ...options,
      privateKey,
      timing: { ...TEST_TIMING, ...options.timing },
      log: logs.log
    })
    this.onCleanup(async () => { await network.stop() })
    await network.start()
    const address = network.addresses().find(a => a.startsWith('/ip4/127.0.0.1/'))
    if (address == null) throw new Error(`${name} has no 127.0.0.1 address: ${network.addresses().join(' ')}`)
    return { name, network, privateKey, nodeId: network.nodeId, logs, address }
  }

  /** A started messenger for `node`, on a catalog.db of its own (or the one given). */
  async messenger (node: TestNode, options: { db?: DatabaseSync, timing?: Partial<MessengerTiming>, senderRate?: SenderRateOptions } = {}): Promise<Messenger> {
    const messenger = createMessenger({
      network: node.network,
      db: options.db ?? await this.database(),
      privateKey: node.privateKey,
      log: node.logs.log,
      senderRate: options.senderRate,
      timing: { deliveryTimeoutMs: 2_000, outboxRetryMaxMs: 2_000, ...options.timing }
    })
    this.onCleanup(async () => { await messenger.stop() })
    await messenger.start()
    return messenger
  }

  async tempDir (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'dv-test-'))
    this.onCleanup(async () => { await rm(dir, { recursive: true, force: true }) })
    return dir
  }

  /** A fresh catalog.db in a temp dir. */
  async database (): Promise<DatabaseSync> {
    const db = new DatabaseSync(join(await this.tempDir(), 'catalog.db'))
    // As the catalog opens it (src/catalog/catalog.ts).
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;')
    migrateCatalog(db)
    this.onCleanup(() => { if (db.isOpen) db.close() })
    return db
  }
}

/** Collects what a messenger's subscribers get. */
export function inbox (messenger: Messenger): Array<{ id: string, from: string, to: string, text: string, at: string }> {
  const received: Array<{ id: string, from: string, to: string, text: string, at: string }> = []
  messenger.subscribe(message => received.push(message))
  return received
}

export function connectedTo (node: TestNode, ...others: TestNode[]): boolean {
  return others.every(other => node.network.isConnected(other.nodeId))
}


export { waitFor, waitForMesh, type WaitOptions } from '../helpers/wait.ts'
