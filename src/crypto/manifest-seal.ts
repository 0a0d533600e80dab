// Manifest blobs: the manifest is sealed with a fresh per-file read key, and that read key is
// wrapped with the owner's vault key. The owner opens with the vault key; a capability holder
// opens with the read key alone. There is no plaintext marker: a blob is recognised as a
// manifest only by successfully unwrapping its read key, so holders cannot tell manifests apart.
import { randomKey, sha256Hex } from './hashes.ts'
import { SEAL_OVERHEAD, open, seal } from './aead.ts'
import { VaultError } from '../errors.ts'

const FORMAT = Buffer.from([1])
const WRAP_AAD = Buffer.from('distri-vault/read-key/v1')
const MANIFEST_AAD = Buffer.from('distri-vault/manifest/v1')
/** format byte + wrapped 32-byte read key */
export const MANIFEST_HEADER_BYTES = 1 + 32 + SEAL_OVERHEAD

export interface SealedManifest { id: string, readKey: string, sealed: Buffer }

export function sealManifest (vaultKey: Uint8Array, manifest: unknown): SealedManifest {
  const readKey = randomKey(32)
  const wrapped = seal(vaultKey, readKey, WRAP_AAD)
  const body = seal(readKey, Buffer.from(JSON.stringify(manifest)), MANIFEST_AAD)
  const sealed = Buffer.concat([FORMAT, wrapped, body])
  return { id: sha256Hex(sealed), readKey: readKey.toString('hex'), sealed }
}

/** Returns the read key if this blob header is a manifest of the vault key's owner, else null. */
export function unwrapReadKey (vaultKey: Uint8Array, header: Uint8Array): Buffer | null {
  if (header.length < MANIFEST_HEADER_BYTES || header[0] !== FORMAT[0]) return null
  try {
    return open(vaultKey, header.subarray(1, MANIFEST_HEADER_BYTES), WRAP_AAD)
  } catch {
    return null
  }
}

export function openManifest (id: string, readKey: Uint8Array, sealed: Uint8Array): unknown {
  if (sha256Hex(sealed) !== id) throw new VaultError('CORRUPT', `manifest ${id.slice(0, 12)}… does not match its hash`)
  if (sealed.length < MANIFEST_HEADER_BYTES) throw new VaultError('CORRUPT', 'manifest is truncated')
  // The format byte is outside both AEADs: checked here, or a blob of another format would be read as a manifest.
  if (sealed[0] !== FORMAT[0]) throw new VaultError('CORRUPT', `manifest format ${sealed[0]} is not known`)
  const body = open(readKey, sealed.subarray(MANIFEST_HEADER_BYTES), MANIFEST_AAD)
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw new VaultError('CORRUPT', 'manifest is not valid JSON', { cause: err })
  }
}
