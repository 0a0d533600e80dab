// Every API failure is `{ error: { code, message } }` with the status its VaultError code maps to.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { VaultError, toVaultError } from '../errors.ts'

export function errorHandler (log: Logger) {
  return (err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void => {
    const vaultError = fromFastify(err)
    if (vaultError.status >= 500) log.error({ err, url: request.url }, 'request failed')
    else log.debug({ code: vaultError.code, url: request.url }, vaultError.message)
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy()
      return
    }
    void reply.status(vaultError.status).send({ error: { code: vaultError.code, message: vaultError.message } })
  }
}

function fromFastify (err: FastifyError | Error): VaultError {
  if (err instanceof VaultError) return err
  const fe = err as FastifyError
  if (fe.validation !== undefined) return new VaultError('BAD_INPUT', fe.message)
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new VaultError('TOO_LARGE', fe.message)
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500) return new VaultError('BAD_INPUT', fe.message)
  return toVaultError(err)
}
