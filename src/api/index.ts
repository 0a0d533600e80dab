// api/: the fastify HTTP API (bearer token, JSON errors, streamed files).
export { startApiServer, type ApiServer, type ApiServerOptions } from './server.ts'
