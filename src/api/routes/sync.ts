// /api/sync: folders kept continuously stored by the node (sync/). Adding one reads the node's own
// disk, so like the folder import it is for clients on the same machine only.
import { isAbsolute } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { NodeServices } from '../services.ts'
import { VaultError } from '../../errors.ts'
import type { FolderSyncs } from '../../sync/index.ts'
import { assertLocalClient, parse, putQuery } from './files.ts'

const addBody = z.object({
  path: z.string().min(1).max(4096).refine((p) => !p.includes('\0'), 'must not contain NUL').refine(isAbsolute, 'must be an absolute path'),
  name: z.string().min(1, 'the name is empty').max(4096),
  replicas: putQuery.shape.replicas,
  takeover: z.boolean().optional()
}).strict()
const nameParams = z.object({ name: z.string().min(1).max(4096) })

function syncsOf (node: NodeServices): FolderSyncs {
  const syncs = node.syncs()
  if (syncs === undefined) throw new VaultError('NOT_RUNNING', 'the node is not running')
  return syncs
}

export function syncRoutes (app: FastifyInstance, node: NodeServices): void {
  app.get('/api/sync', async () => syncsOf(node).list())

  app.post('/api/sync', async (request, reply) => {
    assertLocalClient(request.socket.remoteAddress, 'a synced folder is read from the node\'s own disk')
    const body = parse(addBody, request.body)
    const view = await syncsOf(node).add({ dir: body.path, name: body.name, replicas: body.replicas, takeover: body.takeover })
    return await reply.status(201).send(view)
  })

  app.delete('/api/sync/:name', async (request) => {
    const { name } = parse(nameParams, request.params)
    return await syncsOf(node).remove(name)
  })
}
