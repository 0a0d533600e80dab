// The async entry points of chunk sealing: the cipher (chunk-cipher.ts) runs on the crypto
// worker pool (workers/, jobs.ts) for anything big, so a put or get keeps every core busy while the main
// thread chunks and serves. `consume` hands a buffer over to a worker without copying it.
import { runJob } from '../workers/index.ts'
import { openJob, sealJob, sha256Job } from './jobs.ts'
import type { SealedChunk } from './chunk-cipher.ts'

export type { SealedChunk }

/** Options of the async entry points. */
export interface HandOver {
  /** The caller gives up the buffer: it may be moved to a worker (and left empty) instead of copied. */
  consume?: boolean
}

export async function sealChunk (vaultKey: Uint8Array, plaintext: Uint8Array, options: HandOver = {}): Promise<SealedChunk> {
  return await runJob(sealJob, { vaultKey, data: plaintext }, options.consume === true)
}

export async function openChunk (id: string, keyHex: string, sealed: Uint8Array, options: HandOver & { hashVerified?: boolean } = {}): Promise<Buffer> {
  return await runJob(openJob, { id, key: keyHex, hashVerified: options.hashVerified === true, data: sealed }, options.consume === true)
}

/** SHA-256 of `data`, hex, off the main thread; the caller keeps `data`. */
export async function sha256HexAsync (data: Uint8Array): Promise<string> {
  return (await runJob(sha256Job, { data }, false)).hex
}

/**
 * Reads `data`'s SHA-256 and hands the bytes back: the buffer travels to a worker and returns
 * without a copy, so use the returned buffer, not the one passed in (it may be empty now).
 */
export async function sha256Keep (data: Uint8Array): Promise<{ hex: string, data: Buffer }> {
  return await runJob(sha256Job, { data, giveBack: true }, true)
}
