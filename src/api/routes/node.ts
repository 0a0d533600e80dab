// /api/status and /api/peers: what the node is, who it is connected to, what it holds.
import type { FastifyInstance } from 'fastify'
import type { NodeServices } from '../services.ts'
import type { RecoverProgress } from '../../replication/index.ts'
import { z } from 'zod'
import { replyNdjson, throttled } from '../ndjson.ts'
import { parse } from './files.ts'

const recoverQuery = z.object({ acceptMissing: z.enum(['true', 'false']).optional(), maxListed: z.string().regex(/^[1-9]\d{0,9}$/).optional() }).strict()

export function nodeRoutes (app: FastifyInstance, node: NodeServices): void {
  app.get('/api/status', async () => node.status())
  app.get('/api/peers', async () => node.peers())

  // Recovery can take long: progress streams as one JSON object per line, the summary last.
  // ?acceptMissing=true: complete even without files no peer has (recover --accept-missing).
  // ?maxListed=N: blob IDs one peer may list (recover --max-listed; default 2 million).
  app.post('/api/recover', async (request, reply) => {
    const { acceptMissing, maxListed } = parse(recoverQuery, request.query)
    await replyNdjson(reply, async (send) => {
      const result = await node.recover(throttled<RecoverProgress>(send, (progress) => progress.phase !== 'fetching' || progress.fetched >= progress.found), { acceptMissing: acceptMissing === 'true', maxListed: maxListed === undefined ? undefined : Number(maxListed) })
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
