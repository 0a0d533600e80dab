// `init`: a new (or recovered) identity and the network key in a data directory. The phrase is
// returned once to be shown to the user and is never written to disk; identity.json keeps the seed.
import { chmod, mkdir, readFile, stat } from 'node:fs/promises'
import { hasIdentity, loadIdentity, newPhrase, phraseToSeed, saveIdentity } from '../identity/index.ts'
// The leaf module, not net/index.ts: `init` must not load libp2p (eslint.config.js, LEAF_MODULES).
import { generateNetworkKey, parseNetworkKey } from '../net/swarm-key.ts'
import { writeFileAtomic } from '../atomic/index.ts'
import { VaultError } from '../errors.ts'
import { dataPaths } from './data-dir.ts'

export interface InitOptions {
  dataDir: string
  /** An existing network's key file to join; a fresh key is made otherwise. */
  joinKeyFile?: string
  /** Recreate the identity of this phrase instead of making a new one. */
  recoverPhrase?: string
}

export interface InitResult { nodeId: string, phrase?: string, dataDir: string, networkKeyCreated: boolean }

export async function initDataDir (options: InitOptions): Promise<InitResult> {
  const paths = dataPaths(options.dataDir)
  // Read and check everything first, so a bad phrase or key file leaves nothing half-made.
  const joinKey = options.joinKeyFile === undefined ? undefined : await readNetworkKeyFile(options.joinKeyFile)
  const phrase = options.recoverPhrase ?? newPhrase()
  const seed = phraseToSeed(phrase)
  if (await hasIdentity(paths.root)) {
    const existing = await loadIdentity(paths.root)
    throw new VaultError('ALREADY_EXISTS', `${paths.root} already holds node ${existing.nodeId}; use another --data directory`)
  }
  const existing = await stat(paths.root).catch(() => null)
  if (existing !== null && !existing.isDirectory()) throw new VaultError('BAD_INPUT', `--data ${paths.root} is not a folder; give a folder (a missing one is created)`)
  await mkdir(paths.root, { recursive: true, mode: 0o700 })
  await chmod(paths.root, 0o700).catch(() => {})
  const identity = await saveIdentity(paths.root, seed)
  let networkKeyCreated = false
  if (joinKey !== undefined) {
    await writeFileAtomic(paths.networkKey, joinKey, 0o600)
  } else if (!await exists(paths.networkKey)) {
    await writeFileAtomic(paths.networkKey, generateNetworkKey(), 0o600)
    networkKeyCreated = true
  }
  await mkdir(paths.storage, { recursive: true })
  if (options.recoverPhrase !== undefined) {
    await writeFileAtomic(paths.recoverPending, 'this identity was restored from its phrase: run `distri-vault recover`; deletions to holders wait until it has run\n', 0o600)
  }
  return { nodeId: identity.nodeId, phrase: options.recoverPhrase === undefined ? phrase : undefined, dataDir: paths.root, networkKeyCreated }
}

export async function readNetworkKeyFile (path: string): Promise<Uint8Array> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new VaultError('NOT_FOUND', `cannot read network key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (bytes.length > 4096) throw new VaultError('BAD_INPUT', `${path} is too large to be a network key file`)
  return parseNetworkKey(bytes)
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}
