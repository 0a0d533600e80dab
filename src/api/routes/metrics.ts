// /metrics for Prometheus (no token: counts only, nothing about content or names). prom-client is
// loaded on the first scrape, so a node nobody scrapes does not pay for it in memory.
import type { FastifyInstance } from 'fastify'
import type { NodeServices } from '../services.ts'
import type { ApiStats } from '../server.ts'

type Registry = import('prom-client').Registry

async function createRegistry (node: NodeServices, stats: ApiStats): Promise<Registry> {
  // The CommonJS exports object as `default`: Node's import gives it the named exports too, the
  // CLI's bundle (scripts/bundle.ts) only `default`.
  const { default: client } = await import('prom-client')
  const registry = new client.Registry()
  client.collectDefaultMetrics({ register: registry, prefix: 'distri_vault_' })
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: import('prom-client').Gauge) => void): void => {
    registry.registerMetric(new client.Gauge({ name, help, labelNames, registers: [], collect () { collect(this) } }))
  }
  gauge('distri_vault_peers', 'Peers by state', ['state'], (g) => {
    const peers = node.peers()
    g.set({ state: 'connected' }, peers.filter(p => p.connected).length)
    g.set({ state: 'away' }, peers.filter(p => !p.connected).length)
  })
  gauge('distri_vault_files', 'Files of this owner', [], (g) => g.set(node.metrics().files))
  gauge('distri_vault_files_under_replicated', 'Files below their copy target', [], (g) => g.set(node.metrics().underReplicated))
  // No owner IDs: the route needs no token, and which nodes keep their files here is no count.
  gauge('distri_vault_stored_bytes', 'Bytes held: this node\'s own folder, and the folders of other owners together', ['folder'], (g) => {
    const { own, others } = node.metrics().storedBytes
    g.set({ folder: 'own' }, own)
    g.set({ folder: 'others' }, others)
  })
  gauge('distri_vault_messages_dropped', 'Messages dropped on receipt, by reason', ['reason'], (g) => {
    for (const [reason, count] of Object.entries(node.metrics().messagesDropped)) g.set({ reason }, count)
  })
  gauge('distri_vault_connections_refused', 'Connections refused at the private-network handshake', [], (g) => {
    g.set(node.metrics().refusedConnections)
  })
  registry.registerMetric(new client.Counter({
    name: 'distri_vault_download_failures_total',
    help: 'Downloads (GET /api/files/…) that failed, by stage: before_status (answered with a JSON error) or mid_stream (connection cut)',
    labelNames: ['stage'],
    registers: [],
    collect () {
      this.reset()
      this.inc({ stage: 'before_status' }, stats.downloadFailures.beforeStatus)
      this.inc({ stage: 'mid_stream' }, stats.downloadFailures.midStream)
    }
  }))
  registry.registerMetric(new client.Counter({
    name: 'distri_vault_holder_faults_total',
    help: 'Copies of this owner\'s blobs that holders failed: missing (audit, report), wrong (proof or bytes served), timeout',
    labelNames: ['kind'],
    registers: [],
    collect () {
      this.reset()
      for (const [kind, count] of Object.entries(node.metrics().holderFaults)) this.inc({ kind }, count)
    }
  }))
  gauge('distri_vault_block_refusals', 'Block requests this holder refused (or malformed streams), by code', ['code'], (g) => {
    for (const [code, count] of Object.entries(node.metrics().blockRefusals)) g.set({ code }, count)
  })
  gauge('distri_vault_chain_copies', 'Copies of this owner\'s blobs by how chained replication went: chained (durable through a chain), fallback (sent directly after a chain broke), bad_receipt (a receipt that did not verify)', ['kind'], (g) => {
    const { chained, fallbacks, badReceipts } = node.metrics().chainCopies
    g.set({ kind: 'chained' }, chained)
    g.set({ kind: 'fallback' }, fallbacks)
    g.set({ kind: 'bad_receipt' }, badReceipts)
  })
  gauge('distri_vault_scrub_bad_blobs', 'Damaged blobs the scrub found on this node\'s disk since start', [], (g) => g.set(node.metrics().scrubBadBlobs))
  return registry
}

export function metricsRoutes (app: FastifyInstance, node: NodeServices, stats: ApiStats): void {
  let registry: Promise<Registry> | undefined
  app.get('/metrics', async (_request, reply) => {
    registry ??= createRegistry(node, stats)
    const r = await registry
    return await reply.header('content-type', r.contentType).send(await r.metrics())
  })
}
