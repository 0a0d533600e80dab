// /api/status and /api/peers: what the node is, who it is connected to, what it holds.
import type { FastifyInstance } from 'fastify'
import type { VaultNode } from '../../node/index.ts'
import { toVaultError } from '../../errors.ts'

export function nodeRoutes (app: FastifyInstance, node: VaultNode): void {
  app.get('/api/status', async () => node.status())
  app.get('/api/peers', async () => node.peers())

  // Recovery can take long: progress streams as one JSON object per line, the summary last.
  app.post('/api/recover', async (_request, reply) => {
    reply.hijack()
    const raw = reply.raw
    raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' })
    let lastWrite = 0
    try {
      const result = await node.recover((progress) => {
        const now = Date.now()
        if (progress.phase === 'fetching' && now - lastWrite < 200 && progress.fetched < progress.found) return
        lastWrite = now
        raw.write(JSON.stringify(progress) + '\n')
      })
      raw.end(JSON.stringify({ ...result, phase: 'done' }) + '\n')
    } catch (err) {
      const error = toVaultError(err)
      raw.end(JSON.stringify({ error: { code: error.code, message: error.message } }) + '\n')
    }
  })
}
