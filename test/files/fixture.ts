// A single-node vault on a real temp data dir, built the way node/ builds it: a BlobStore under
// storage/, a SQLite catalog.db, and an identity derived from a fresh recovery phrase.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { BlobStore } from '../../src/store/index.ts'
import { Catalog } from '../../src/catalog/index.ts'
import { Vault, type OpenFile, type ByteRange } from '../../src/files/index.ts'
import { deriveIdentity, newPhrase, phraseToSeed, type Identity } from '../../src/identity/index.ts'
import { listFiles, type Cleanup } from '../helpers/fs.ts'

let shared: Promise<Identity> | undefined
/** One identity per test process: deriving one costs ~70 ms. */
export async function testIdentity (): Promise<Identity> {
  shared ??= deriveIdentity(phraseToSeed(newPhrase()))
  return await shared
}

export interface TestVault {
  dir: string
  identity: Identity
  store: BlobStore
  catalog: Catalog
  vault: Vault
  /** storage/<own node id>/ */
  ownerDir: string
  /** Every blob file in storage/<own node id>/ but the journal's (the files' chunks and manifests). */
  blobFiles: () => Promise<string[]>
  /** The journal's blob files in storage/<own node id>/ (records and checkpoint parts the catalog knows). */
  journalFiles: () => Promise<string[]>
  /** Opens a fresh Catalog on the same catalog.db (after deleting it when `wipe`) and a Vault over it. */
  reopenCatalog: (options?: { wipe?: boolean }) => Promise<void>
}

export async function openTestVault (scope: Cleanup, identity?: Identity): Promise<TestVault> {
  const id = identity ?? await testIdentity()
  const dir = await mkdtemp(join(tmpdir(), 'dv-vault-'))
  let tv: TestVault | undefined
  // One hook, registered before anything can fail, in this order: the database closes, then the dir goes.
  scope.after(async () => {
    tv?.catalog.close()
    await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  })
  const store = new BlobStore(join(dir, 'storage'))
  await store.start()
  const dbPath = join(dir, 'catalog.db')
  const ownerDir = join(dir, 'storage', id.nodeId)
  const make = (catalog: Catalog): Vault => new Vault({ nodeId: id.nodeId, vaultKey: id.vaultKey, store, catalog })
  const catalog = new Catalog(dbPath, id.vaultKey)
  const created: TestVault = {
    dir,
    identity: id,
    store,
    catalog,
    vault: make(catalog),
    ownerDir,
    blobFiles: async () => (await listFiles(ownerDir)).filter(f => !isJournalBlob(created.catalog, f)),
    journalFiles: async () => (await listFiles(ownerDir)).filter(f => isJournalBlob(created.catalog, f)),
    reopenCatalog: async (options = {}) => {
      created.catalog.close()
      if (options.wipe === true) {
        for (const suffix of ['', '-wal', '-shm']) await rm(dbPath + suffix, { force: true })
      }
      created.catalog = new Catalog(dbPath, id.vaultKey)
      created.vault = make(created.catalog)
    }
  }
  tv = created
  return created
}

function isJournalBlob (catalog: Catalog, file: string): boolean {
  return catalog.db.prepare('SELECT 1 FROM journal WHERE blob_id = ?').get(basename(file)) !== undefined
}

export async function * inPieces (data: Uint8Array, pieceBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += pieceBytes) yield data.subarray(i, i + pieceBytes)
}

export async function readAll (vault: Vault, ref: string | OpenFile, range?: ByteRange): Promise<Buffer> {
  const file = typeof ref === 'string' ? await vault.open(ref) : ref
  const parts: Buffer[] = []
  for await (const part of vault.read(file, range)) parts.push(Buffer.from(part))
  return Buffer.concat(parts)
}

export const vaultError = (code: string): { name: string, code: string } => ({ name: 'VaultError', code })
