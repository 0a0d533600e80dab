// /api/status and /api/peers: what the node is, who it is connected to, what it holds.
import type { FastifyInstance } from 'fastify'
import type { NodeServices } from '../services.ts'
import type { RecoverProgress } from '../../replication/index.ts'
import { replyNdjson, throttled } from '../ndjson.ts'

export function nodeRoutes (app: FastifyInstance, node: NodeServices): void {
  app.get('/api/status', async () => node.status())
  app.get('/api/peers', async () => node.peers())

  // Recovery can take long: progress streams as one JSON object per line, the summary last.
  app.post('/api/recover', async (_request, reply) => {
    await replyNdjson(reply, async (send) => {
      const result = await node.recover(throttled<RecoverProgress>(send, (progress) => progress.phase !== 'fetching' || progress.fetched >= progress.found))
      return { ...result, phase: 'done' }
    })
  })

  // Scrub now: progress lines ({phase: 'checking', checked, bytes, bad}), then the summary.
  app.post('/api/scrub', async (_request, reply) => {
    await replyNdjson(reply, async (send) => {
      const result = await node.scrub(throttled((progress) => send({ phase: 'checking', ...progress })))
      return { ...result, phase: 'done' }
    })
  })
}
