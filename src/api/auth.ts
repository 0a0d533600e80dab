// Bearer-token check for /api/*: the token is in api.json (mode 0600), so only the node's user
// (or whoever they hand it to) can drive the node. Compared in constant time.
import { timingSafeEqual, createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { VaultError } from '../errors.ts'

export function bearerAuth (token: string) {
  const expected = digest(token)
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? ''
    const match = /^Bearer\s+(\S+)$/i.exec(header)
    if (match === null || !timingSafeEqual(digest(match[1]), expected)) {
      throw new VaultError('UNAUTHORIZED', match === null ? 'missing bearer token' : 'wrong API token (is api.json from this node?)')
    }
  }
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
