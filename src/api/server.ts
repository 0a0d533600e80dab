// The HTTP API: fastify on 127.0.0.1 by default, bearer token on /api/*, JSON errors with stable
// codes, streamed uploads and downloads.
import Fastify from 'fastify'
import type { Logger } from 'pino'
import type { VaultNode } from '../node/index.ts'
import { parseHostPort } from '../node/config.ts'
import { bearerAuth } from './auth.ts'
import { errorHandler } from './errors.ts'
import { fileRoutes } from './routes/files.ts'
import { nodeRoutes } from './routes/node.ts'
import { messageRoutes } from './routes/messages.ts'
import { metricsRoutes } from './routes/metrics.ts'

export interface ApiServerOptions { node: VaultNode, listen: string, token: string, log: Logger }
export interface ApiServer { url: string, close: () => Promise<void> }

export async function startApiServer (options: ApiServerOptions): Promise<ApiServer> {
  const { host, port } = parseHostPort(options.listen, '--api')
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 1024 * 1024, routerOptions: { maxParamLength: 8192 } })
  app.setErrorHandler(errorHandler(options.log))
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } })
  })
  const auth = bearerAuth(options.token)
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/api/')) await auth(request, reply)
  })
  fileRoutes(app, options.node)
  nodeRoutes(app, options.node)
  messageRoutes(app, options.node)
  metricsRoutes(app, options.node)
  await app.listen({ host, port })
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    options.log.warn({ host }, 'the HTTP API listens beyond this machine: anyone who can reach it and has the token in api.json controls the node')
  }
  const address = app.server.address()
  const boundPort = typeof address === 'object' && address !== null ? address.port : port
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  return { url: `http://${urlHost}:${boundPort}`, close: async () => { await app.close() } }
}
