// get: sealed manifest → verified chunks → plaintext bytes, streamed in order. Only the byte
// range asked for is read, and a few chunks are fetched ahead so remote holders overlap.
import { write } from 'node:fs'
import { promisify } from 'node:util'
import { openChunk, openManifest, unwrapReadKey, MANIFEST_HEADER_BYTES } from '../crypto/index.ts'
import { VaultError } from '../errors.ts'
import { readBlob } from './chunk-source.ts'
import type { OwnerContext } from './context.ts'
import { parseManifest, type Manifest } from './manifest.ts'
import { noteStreamed } from '../runtime/index.ts'
import { TaskWindow } from '../concurrency/index.ts'
import { runJob } from '../workers/index.ts'
import { release } from '../buffers/index.ts'
import { openToFileJob } from './export-job.ts'

const writeAt = promisify(write)

/**
 * Chunks read ahead of the consumer: overlaps fetching with writing, and lets a read from remote
 * holders keep every holder busy (the swarm spreads these over them). Bounded in chunks and in
 * bytes (at least one chunk is always read): ≤ 12 MiB + one 4 MiB chunk held.
 */
const READ_AHEAD = { tasks: 12, bytes: 12 * 1024 * 1024 }

export interface ByteRange { start: number, end: number } // inclusive end, as in HTTP

/**
 * One of this owner's manifests from its sealed bytes: null when the vault key does not unwrap its
 * read key (not a manifest of this vault); CORRUPT when it does but the manifest does not open.
 */
export function openOwnManifest (vaultKey: Buffer, fileId: string, sealed: Buffer): Manifest | null {
  const readKey = unwrapReadKey(vaultKey, sealed.subarray(0, MANIFEST_HEADER_BYTES))
  return readKey === null ? null : parseManifest(openManifest(fileId, readKey, sealed))
}

/** Opens one of this owner's manifests with the vault key. */
export async function loadOwnManifest (ctx: OwnerContext, fileId: string): Promise<Manifest> {
  const manifest = openOwnManifest(ctx.vaultKey, fileId, await readBlob(ctx.store, ctx.remote, ctx.nodeId, fileId))
  if (manifest === null) throw new VaultError('CORRUPT', `blob ${fileId.slice(0, 12)}… is not a manifest of this vault`)
  return manifest
}

/** Opens a manifest with a capability's read key (any owner's). */
export async function loadSharedManifest (ctx: OwnerContext, owner: string, fileId: string, readKeyHex: string): Promise<Manifest> {
  const sealed = await readBlob(ctx.store, ctx.remote, owner, fileId)
  return parseManifest(openManifest(fileId, Buffer.from(readKeyHex, 'hex'), sealed))
}

type Chunk = Manifest['chunks'][number]

/**
 * A chunk the local read found missing (or `damaged`), from the holders only: the disk was just
 * looked at, so it is not looked at again. Without a network the local fault is the answer.
 */
async function fetchChunkFromHolders (ctx: OwnerContext, owner: string, c: Chunk, signal?: AbortSignal, damaged?: VaultError): Promise<Buffer> {
  if (ctx.remote === undefined) throw damaged ?? new VaultError('NOT_FOUND', `blob ${c.id.slice(0, 12)}… is not stored here`)
  try {
    return await openChunk(c.id, c.key, await ctx.remote.fetch(owner, c.id, signal), { hashVerified: true, consume: true })
  } catch (err) {
    // Say first what went wrong here: the local copy is bad; the holders are only the way out.
    if (damaged === undefined || (err instanceof VaultError && err.code === 'CORRUPT')) throw err
    throw new VaultError('CORRUPT', `${damaged.message}, and no holder supplied a good copy (${err instanceof Error ? err.message : String(err)})`)
  }
}

/** Chunks being written at once by writeFileAt: queued jobs hold no buffers, only running ones and fetches do. */
const WRITE_AHEAD = READ_AHEAD

/**
 * Writes the whole file into the open file `fd` (get to a file on the node's machine): each chunk
 * is read, checked, decrypted and written at its offset by one worker job, several at once, so no
 * byte crosses threads; a chunk missing or damaged here comes from the holders instead. Resolves
 * with the bytes written.
 */
export async function writeFileAt (ctx: OwnerContext, owner: string, manifest: Pick<Manifest, 'chunks'>, fd: number, signal?: AbortSignal, onProgress?: (bytes: number) => void): Promise<number> {
  const inflight = new TaskWindow(WRITE_AHEAD)
  let position = 0
  let done = 0
  for (const chunk of manifest.chunks) {
    if (signal?.aborted === true) inflight.failure ??= new VaultError('TRUNCATED', 'the client went away before the file was written')
    if (inflight.failure !== undefined) break
    const at = position
    position += chunk.size
    inflight.track(writeChunkAt(ctx, owner, chunk, fd, at, signal), chunk.size, () => { done += chunk.size; onProgress?.(done) })
    await inflight.room()
  }
  await inflight.settled()
  inflight.throwIfFailed()
  return position
}

async function writeChunkAt (ctx: OwnerContext, owner: string, c: Chunk, fd: number, position: number, signal?: AbortSignal): Promise<void> {
  const { status } = await runJob(openToFileJob, { id: c.id, key: c.key, size: c.size, blobPath: ctx.store.pathOf(owner, c.id), fd, position }, false)
  if (status === 'ok') return
  const damaged = status === 'corrupt' ? new VaultError('CORRUPT', `chunk ${c.id.slice(0, 12)}… does not match its hash`) : undefined
  const plain = await fetchChunkFromHolders(ctx, owner, c, signal, damaged)
  if (plain.length !== c.size) throw new VaultError('CORRUPT', 'a chunk has the wrong size')
  for (let at = 0; at < plain.length;) at += (await writeAt(fd, plain, at, plain.length - at, position + at)).bytesWritten
  release(plain)
}

/** Streams the plaintext of `range` (whole file by default); every chunk is verified before use. */
export async function * readFileBytes (ctx: OwnerContext, owner: string, manifest: Manifest, range?: ByteRange, signal?: AbortSignal): AsyncGenerator<Buffer> {
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
  const load = async (c: Chunk): Promise<Buffer> => {
    // The local copy is checked (hash, then tag) by openChunk in one job on a worker; a damaged
    // or missing one is fetched from the holders, whose client checks the hash on arrival.
    const local = await ctx.store.getUnverified(owner, c.id)
    if (local === undefined) return await fetchChunkFromHolders(ctx, owner, c, signal)
    try {
      return await openChunk(c.id, c.key, local, { consume: true })
    } catch (err) {
      if (!(err instanceof VaultError) || err.code !== 'CORRUPT') throw err
      return await fetchChunkFromHolders(ctx, owner, c, signal, err)
    }
  }
  const pending: Array<Promise<Buffer>> = []
  let next = 0
  let pendingBytes = 0
  const fill = (): void => {
    while (next < wanted.length && (pending.length === 0 || (pending.length < READ_AHEAD.tasks && pendingBytes + wanted[next].chunk.size <= READ_AHEAD.bytes))) {
      const { chunk } = wanted[next++]
      const p = load(chunk)
      p.catch(() => {}) // observed when awaited; avoid an unhandled rejection while queued
      pending.push(p)
      pendingBytes += chunk.size
    }
  }
  for (const part of wanted) {
    fill()
    const plain = await pending.shift()!
    pendingBytes -= part.chunk.size
    if (plain.length !== part.chunk.size) throw new VaultError('CORRUPT', 'a chunk has the wrong size')
    noteStreamed(plain.length)
    yield part.from === 0 && part.to === plain.length ? plain : plain.subarray(part.from, part.to)
  }
}
