// identity.json: the seed derived from the recovery phrase (never the phrase itself), mode 0600.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { VaultError } from '../errors.ts'
import { writeFileAtomic } from '../atomic/index.ts'
import { deriveIdentity, type Identity } from './keys.ts'

const FILE = 'identity.json'
const schema = z.object({ version: z.literal(1), nodeId: z.string(), seed: z.string().regex(/^[0-9a-f]{128}$/) })

export async function saveIdentity (dataDir: string, seed: Uint8Array): Promise<Identity> {
  const identity = await deriveIdentity(seed)
  const doc = { version: 1, nodeId: identity.nodeId, seed: Buffer.from(seed).toString('hex') }
  await writeFileAtomic(join(dataDir, FILE), JSON.stringify(doc, null, 2) + '\n', 0o600)
  return identity
}

export async function loadIdentity (dataDir: string): Promise<Identity> {
  let text: string
  try {
    text = await readFile(join(dataDir, FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new VaultError('NOT_INITIALIZED', `no identity in ${dataDir}: run "distri-vault init" first`)
    }
    throw err
  }
  let doc
  try {
    doc = schema.parse(JSON.parse(text))
  } catch (err) {
    throw new VaultError('CORRUPT', `${join(dataDir, FILE)} is damaged; restore it with "init --recover"`, { cause: err })
  }
  const identity = await deriveIdentity(Buffer.from(doc.seed, 'hex'))
  if (identity.nodeId !== doc.nodeId) throw new VaultError('CORRUPT', `${join(dataDir, FILE)} does not match its node ID`)
  return identity
}

export async function hasIdentity (dataDir: string): Promise<boolean> {
  try {
    await readFile(join(dataDir, FILE))
    return true
  } catch {
    return false
  }
}
