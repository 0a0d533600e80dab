// /api/status and /api/peers: what the node is, who it is connected to, what it holds.
import type { FastifyInstance } from 'fastify'
import type { VaultNode } from '../../node/index.ts'

export function nodeRoutes (app: FastifyInstance, node: VaultNode): void {
  app.get('/api/status', async () => node.status())
  app.get('/api/peers', async () => node.status().peers)
}
