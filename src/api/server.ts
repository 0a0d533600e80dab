// The HTTP API: fastify on 127.0.0.1 by default, deny-by-default access (guard.ts: Host, Origin,
// bearer token), JSON errors with stable codes, streamed uploads and downloads.
import Fastify, { type FastifyReply } from 'fastify'
import type { Logger } from 'pino'
import type { NodeServices } from './services.ts'
import { errorHandler } from './errors.ts'
import { allowedHosts, requestGuard } from './guard.ts'
import { fileRoutes } from './routes/files.ts'
import { nodeRoutes } from './routes/node.ts'
import { messageRoutes } from './routes/messages.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { syncRoutes } from './routes/sync.ts'
import { dashboardRoutes } from './routes/dashboard.ts'
import { dashboardDataRoutes } from './routes/dashboard-data.ts'
import { SessionStore } from './session.ts'

export interface ApiServerOptions {
  /** What the routes may ask of the node. */
  services: NodeServices
  /** Where to listen (port 0: any free port). */
  listen: { host: string, port: number }
  token: string
  log: Logger
}

/** One route as fastify registered it (HEAD twins of GET routes included). */
export interface ApiRoute { method: string, url: string }

/** What the API itself counts, for /metrics. */
export interface ApiStats {
  /** Downloads that failed: before any status was sent (a JSON error) or mid-stream (cut off). */
  downloadFailures: { beforeStatus: number, midStream: number }
}

export interface ApiServer {
  url: string
  /** Every route registered, as the router knows it: what the access tests walk. */
  routes: readonly ApiRoute[]
  close: () => Promise<void>
}

export async function startApiServer (options: ApiServerOptions): Promise<ApiServer> {
  const { host, port } = options.listen
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: 8192 },
    // A URL the router cannot even decode (a malformed %-escape) is refused before any route or
    // hook: answered in our error shape, without echoing it.
    frameworkErrors: (_error, _request, reply) => {
      void (reply as FastifyReply).status(400).send({ error: { code: 'BAD_INPUT', message: 'malformed URL' } })
    }
  })
  const routes: ApiRoute[] = []
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url })
  })
  app.setErrorHandler(errorHandler(options.log))
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } })
  })
  let hosts = new Set<string>()
  const sessions = new SessionStore()
  let url = ''
  app.addHook('onRequest', requestGuard({ token: options.token, hosts: () => hosts, sessions }))
  const stats: ApiStats = { downloadFailures: { beforeStatus: 0, midStream: 0 } }
  fileRoutes(app, options.services, { stats, log: options.log })
  nodeRoutes(app, options.services)
  messageRoutes(app, options.services)
  metricsRoutes(app, options.services, stats)
  syncRoutes(app, options.services)
  dashboardRoutes(app, options.services, { sessions, apiUrl: () => url })
  dashboardDataRoutes(app, options.services)
  await app.listen({ host, port })
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    options.log.warn({ host }, 'the HTTP API listens beyond this machine: anyone who can reach it and has the token in api.json controls the node')
  }
  const address = app.server.address()
  const boundPort = typeof address === 'object' && address !== null ? address.port : port
  hosts = allowedHosts(host, boundPort)
  const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host
  url = `http://${urlHost}:${boundPort}`
  return { url, routes, close: async () => { await app.close() } }
}
