// Share capabilities: `dv1.<file id>.<owner id>.<read key>`: exactly what a reader needs,
// nothing else. A capability is a bearer secret: whoever holds it can read that one file.
import { z } from 'zod'
import { VaultError } from '../errors.ts'
import { fileIdSchema, hexBytesSchema, nodeIdSchema } from '../ids/index.ts'


export interface Capability { fileId: string, ownerId: string, readKey: string }

const PREFIX = 'dv1'
const schema = z.object({ fileId: fileIdSchema, ownerId: nodeIdSchema, readKey: hexBytesSchema(32) })

export function formatCapability (cap: Capability): string {
  return [PREFIX, cap.fileId, cap.ownerId, cap.readKey].join('.')
}

export function isCapability (text: string): boolean {
  return text.startsWith(`${PREFIX}.`)
}

export function parseCapability (text: string): Capability {
  const [prefix, fileId, ownerId, readKey, ...rest] = text.trim().split('.')
  const parsed = schema.safeParse({ fileId, ownerId, readKey })
  if (prefix !== PREFIX || rest.length > 0 || !parsed.success) {
    throw new VaultError('BAD_INPUT', 'not a valid capability string')
  }
  return parsed.data
}
