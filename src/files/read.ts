// get: sealed manifest → verified chunks → plaintext bytes, streamed in order. Only the byte
// range asked for is read, and a few chunks are fetched ahead so remote holders overlap.
import { openChunk, openManifest, unwrapReadKey, MANIFEST_HEADER_BYTES } from '../crypto/index.ts'
import { VaultError } from '../errors.ts'
import { readBlob } from './chunk-source.ts'
import type { VaultContext } from './context.ts'
import { parseManifest, type Manifest } from './manifest.ts'
import { noteStreamed } from '../runtime/index.ts'

/** Chunks read ahead of the consumer: overlaps fetching with writing, bounds memory (4 × ≤4 MiB). */
const READ_AHEAD = 4

export interface ByteRange { start: number, end: number } // inclusive end, as in HTTP

/** Opens one of this owner's manifests with the vault key. */
export async function loadOwnManifest (ctx: VaultContext, fileId: string): Promise<Manifest> {
  const sealed = await readBlob(ctx.store, ctx.remote, ctx.nodeId, fileId)
  const readKey = unwrapReadKey(ctx.vaultKey, sealed.subarray(0, MANIFEST_HEADER_BYTES))
  if (readKey === null) throw new VaultError('CORRUPT', `blob ${fileId.slice(0, 12)}… is not a manifest of this vault`)
  return parseManifest(openManifest(fileId, readKey, sealed))
}

/** Opens a manifest with a capability's read key (any owner's). */
export async function loadSharedManifest (ctx: VaultContext, owner: string, fileId: string, readKeyHex: string): Promise<Manifest> {
  const sealed = await readBlob(ctx.store, ctx.remote, owner, fileId)
  return parseManifest(openManifest(fileId, Buffer.from(readKeyHex, 'hex'), sealed))
}

/** Streams the plaintext of `range` (whole file by default); every chunk is verified before use. */
export async function * readFileBytes (ctx: VaultContext, owner: string, manifest: Manifest, range?: ByteRange, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const start = range?.start ?? 0
  const end = range?.end ?? manifest.size - 1
  const wanted: Array<{ chunk: Manifest['chunks'][number], from: number, to: number }> = []
  let offset = 0
  for (const chunk of manifest.chunks) {
    const chunkEnd = offset + chunk.size - 1
    if (chunkEnd >= start && offset <= end) {
      wanted.push({ chunk, from: Math.max(0, start - offset), to: Math.min(chunk.size, end - offset + 1) })
    }
    offset += chunk.size
  }
  const load = async (c: Manifest['chunks'][number]): Promise<Buffer> => {
    // The local copy is checked (hash, then tag) by openChunk in one job on a worker; a damaged
    // or missing one is fetched from the holders, whose client checks the hash on arrival.
    const local = await ctx.store.getUnverified(owner, c.id)
    let damaged: VaultError | undefined
    if (local !== undefined) {
      try {
        return await openChunk(c.id, c.key, local, { consume: true })
      } catch (err) {
        if (ctx.remote === undefined || !(err instanceof VaultError) || err.code !== 'CORRUPT') throw err
        damaged = err
      }
    }
    try {
      return await openChunk(c.id, c.key, await readBlob(ctx.store, ctx.remote, owner, c.id, signal), { hashVerified: true, consume: true })
    } catch (err) {
      // Say first what went wrong here: the local copy is bad; the holders are only the way out.
      if (damaged === undefined || (err instanceof VaultError && err.code === 'CORRUPT')) throw err
      throw new VaultError('CORRUPT', `${damaged.message}, and no holder supplied a good copy (${err instanceof Error ? err.message : String(err)})`)
    }
  }
  const pending: Array<Promise<Buffer>> = []
  let next = 0
  const fill = (): void => {
    while (pending.length < READ_AHEAD && next < wanted.length) {
      const p = load(wanted[next++].chunk)
      p.catch(() => {}) // observed when awaited; avoid an unhandled rejection while queued
      pending.push(p)
    }
  }
  for (const part of wanted) {
    fill()
    const plain = await pending.shift()!
    if (plain.length !== part.chunk.size) throw new VaultError('CORRUPT', 'a chunk has the wrong size')
    noteStreamed(plain.length)
    yield part.from === 0 && part.to === plain.length ? plain : plain.subarray(part.from, part.to)
  }
}
