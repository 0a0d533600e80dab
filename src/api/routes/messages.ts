// /api/messages (send, history) and /api/events: live messages, announcements, peer changes, files
// stored and removed, and job progress (recover, repair, scrub) as Server-Sent Events. A client
// that stops reading loses events (counted), it never grows our memory.
import type { FastifyInstance, FastifyReply } from 'fastify'
import { z } from 'zod'
import type { NodeServices } from '../services.ts'
import { VaultError } from '../../errors.ts'

const sendBody = z.object({
  to: z.string().min(1).max(100),
  text: z.string().min(1, 'the message is empty').max(64 * 1024, 'the message is longer than 64 KiB')
})
const historyQuery = z.object({ limit: z.coerce.number().int().min(1).max(10_000).optional() })

const HEARTBEAT_MS = 15_000

export function messageRoutes (app: FastifyInstance, node: NodeServices): void {
  app.post('/api/messages', async (request, reply) => {
    const parsed = sendBody.safeParse(request.body)
    if (!parsed.success) {
      // A text over the limit is TOO_LARGE, as the messenger says of one over it in bytes.
      const issue = parsed.error.issues[0]
      throw new VaultError(issue?.code === 'too_big' && issue.path[0] === 'text' ? 'TOO_LARGE' : 'BAD_INPUT', issue?.message ?? 'invalid message')
    }
    const { to, text } = parsed.data
    const messenger = node.messenger()
    const result = to === '*' ? await messenger.broadcast(text) : await messenger.send(to, text)
    return await reply.status(201).send(result)
  })

  app.get('/api/messages', async (request) => {
    const parsed = historyQuery.safeParse(request.query)
    if (!parsed.success) throw new VaultError('BAD_INPUT', 'limit must be a number from 1 to 10000')
    return node.messenger().history({ limit: parsed.data.limit })
  })

  app.get('/api/events', async (request, reply) => {
    node.messenger() // NOT_RUNNING before the stream starts, as before
    reply.hijack()
    const raw = reply.raw
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    raw.write(': distri-vault events\n\n')
    const send = sseWriter(reply)
    const { events } = node
    const unsubscribe = [
      events.on('message:received', message => send('message', message)),
      events.on('announcement:received', announcement => send('announcement', announcement)),
      events.on('peer:joined', ({ nodeId, at }) => send('peer', { event: 'connect', nodeId, at })),
      events.on('peer:left', ({ nodeId, at }) => send('peer', { event: 'disconnect', nodeId, at })),
      events.on('file:stored', file => send('file', { event: 'stored', ...file })),
      events.on('file:removed', file => send('file', { event: 'removed', ...file })),
      events.on('job:progress', job => send('job', job))
    ]
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), HEARTBEAT_MS)
    request.raw.on('close', () => {
      clearInterval(heartbeat)
      for (const off of unsubscribe) off()
    })
  })
}

/** Writes one SSE event unless the client is behind (its socket buffer is full): then it is dropped. */
function sseWriter (reply: FastifyReply): (event: string, data: unknown) => void {
  const raw = reply.raw
  let behind = false
  raw.on('drain', () => { behind = false })
  return (event, data) => {
    if (behind || raw.destroyed) return
    behind = !raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }
}
