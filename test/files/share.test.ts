// Share capabilities: a capability string opens exactly one file, for anyone who holds it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Vault } from '../../src/files/index.ts'
import { Catalog } from '../../src/catalog/index.ts'
import { formatCapability, parseCapability } from '../../src/crypto/index.ts'
import { deriveIdentity, newPhrase, phraseToSeed } from '../../src/identity/index.ts'
import { inPieces, openTestVault, readAll, vaultError } from './fixture.ts'

const MiB = 1024 * 1024

test('a share capability opens the file with identical bytes, name and size', async (t) => {
  const { vault, identity } = await openTestVault(t)
  const data = randomBytes(2 * MiB + 5)
  const put = await vault.put(inPieces(data), { name: 'shared/holiday.mov' })
  const cap = await vault.share('shared/holiday.mov')
  assert.deepEqual(parseCapability(cap).fileId, put.id)
  assert.equal(parseCapability(cap).ownerId, identity.nodeId)
  const file = await vault.open(cap)
  assert.equal(file.id, put.id)
  assert.equal(file.owner, identity.nodeId)
  assert.equal(file.name, 'shared/holiday.mov')
  assert.equal(file.size, data.length)
  assert.ok((await readAll(vault, file)).equals(data))
  assert.equal(await vault.share(put.id), cap, 'sharing by ID gives the same capability')
  const r = { start: MiB - 3, end: MiB + 3 }
  assert.ok((await readAll(vault, file, r)).equals(data.subarray(r.start, r.end + 1)))
})

test('another owner holding the capability reads the file; without it they cannot', async (t) => {
  const owner = await openTestVault(t)
  const data = randomBytes(MiB)
  const put = await owner.vault.put(inPieces(data), { name: 'for-bob.bin' })
  const cap = await owner.vault.share('for-bob.bin')
  // Bob: another identity on the same disk (as a holder of owner's blobs would be).
  const bob = await deriveIdentity(phraseToSeed(newPhrase()))
  const bobCatalog = new Catalog(':memory:', bob.vaultKey)
  t.after(() => { bobCatalog.close() })
  const bobVault = new Vault({ nodeId: bob.nodeId, vaultKey: bob.vaultKey, store: owner.store, catalog: bobCatalog })
  assert.ok((await readAll(bobVault, cap)).equals(data))
  await assert.rejects(bobVault.open(put.id), vaultError('NOT_FOUND'), 'not in bob\'s own files')
  assert.deepEqual(bobVault.list(), [])
})

test('a capability with a wrong read key or a malformed one is refused with BAD_INPUT', async (t) => {
  const { vault } = await openTestVault(t)
  await vault.put(inPieces(randomBytes(1000)), { name: 'x.bin' })
  const cap = parseCapability(await vault.share('x.bin'))
  await assert.rejects(vault.open(formatCapability({ ...cap, readKey: randomBytes(32).toString('hex') })), vaultError('BAD_INPUT'))
  await assert.rejects(vault.open(formatCapability({ ...cap, fileId: randomBytes(32).toString('hex') })), vaultError('NOT_FOUND'))
  await assert.rejects(vault.open(`dv1.${cap.fileId}.${cap.ownerId}`), vaultError('BAD_INPUT'))
})

test('a capability stops working once the owner removes the file', async (t) => {
  const { vault } = await openTestVault(t)
  await vault.put(inPieces(randomBytes(1000)), { name: 'temp.bin' })
  const cap = await vault.share('temp.bin')
  await vault.remove('temp.bin')
  await assert.rejects(vault.open(cap), vaultError('NOT_FOUND'))
})
