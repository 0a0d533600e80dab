// crypto/: AEAD sealing of chunks and manifests, key derivation, capabilities (node:crypto only).
export { sha256, sha256Hex, sha256HexOfPieces, deriveKey, randomKey } from './hashes.ts'
export { seal, open, SEAL_OVERHEAD, AuthenticationFailed } from './aead.ts'
export { openChunkSync } from './chunk-cipher.ts'
export { sealChunk, openChunk, sha256HexAsync, sha256Keep, type SealedChunk, type HandOver } from './chunk-seal.ts'
export { sealManifest, openManifest, unwrapReadKey, MANIFEST_HEADER_BYTES, type SealedManifest } from './manifest-seal.ts'
export { formatCapability, parseCapability, isCapability, type Capability } from './capability.ts'
