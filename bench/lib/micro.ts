// Sub-measurements of the put/get pipeline's stages, each alone, on the product's own code
// (src/chunker, src/crypto, src/store), so a missed target can be traced to a stage:
//   chunker      chunkStream over in-memory data fed in 64 KiB pieces (what an HTTP body gives)
//   sealChunk    per chunk: SHA-256, HKDF, AES-256-GCM, SHA-256 (what put does per chunk), one chunk
//                at a time and 4 in flight (the same when sealChunk is synchronous; more when it
//                runs on the thread pool)
//   raw crypto   the same chunks through SHA-256 + GCM + SHA-256 only (the simple tool's CPU part)
//   openChunk    per chunk: SHA-256 verify + GCM open (what get does per chunk), 1 and 4 in flight
//   storage      1 MiB blob: write only / write + fsync / BlobStore.put (fsync + rename + dir fsync)
//                sequentially (ms per chunk) and 4 in flight as put.ts does (MB/s); BlobStore.get
//                + openChunk 4 in flight (the get path without HTTP)
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { open, readFile, rm, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { mbps } from './stats.ts'

type ChunkerModule = typeof import('../../src/chunker/index.ts')
type CryptoModule = typeof import('../../src/crypto/index.ts')
type StoreModule = typeof import('../../src/store/index.ts')

const FEED_PIECE = 64 * 1024
const STORAGE_BLOBS = 64

/** A base58 owner ID the store accepts (it only checks the alphabet and length). */
const OWNER = '12D3KooWBenchBenchBenchBenchBenchBenchBenchBench'

export interface MicroResult {
  chunks: number
  avgChunkBytes: number
  chunkerMBps: number
  sealChunkMBps: number
  sealChunk4MBps: number
  rawCryptoMBps: number
  openChunkMBps: number
  openChunk4MBps: number
  /** ms per 1 MiB blob, sequential. */
  writeNoSyncMs: number
  writeFsyncMs: number
  storePutMs: number
  /** BlobStore.put, 4 in flight, MB/s. */
  storePut4MBps: number
  /** BlobStore.get + openChunk, 4 in flight, MB/s (page cache). */
  storeGetOpen4MBps: number
}

export async function measureMicro (repoRoot: string, file: string, scratch: string): Promise<MicroResult> {
  const src = (p: string): string => pathToFileURL(join(repoRoot, 'src', p)).href
  const { chunkStream } = await import(src('chunker/index.ts')) as ChunkerModule
  const { sealChunk, openChunk } = await import(src('crypto/index.ts')) as CryptoModule
  const { BlobStore } = await import(src('store/index.ts')) as StoreModule

  const data = await readFile(file)
  const bytes = data.length

  // Chunker alone. It copies each chunk out of the pieces it was fed; only the sizes are kept.
  async function * feed (): AsyncGenerator<Buffer> {
    for (let i = 0; i < bytes; i += FEED_PIECE) yield data.subarray(i, Math.min(bytes, i + FEED_PIECE))
  }
  const sizes: number[] = []
  let t = performance.now()
  for await (const chunk of chunkStream(feed())) sizes.push(chunk.length)
  const chunkerSeconds = (performance.now() - t) / 1000
  const chunks: Buffer[] = []
  for (let off = 0, i = 0; i < sizes.length; off += sizes[i++]) chunks.push(data.subarray(off, off + sizes[i]))

  // sealChunk alone, over the chunker's real chunks (awaited: it may be synchronous or not).
  const vaultKey = randomBytes(32)
  const sealed: Array<Awaited<ReturnType<typeof sealChunk>>> = []
  t = performance.now()
  for (const c of chunks) sealed.push(await sealChunk(vaultKey, c))
  const sealSeconds = (performance.now() - t) / 1000
  t = performance.now()
  await inFlight(chunks, 4, async (c) => { await sealChunk(vaultKey, c) })
  const seal4Seconds = (performance.now() - t) / 1000

  // The bare primitives over the same chunks (no HKDF, no concatenation).
  const key = randomBytes(32)
  t = performance.now()
  for (const c of chunks) {
    createHash('sha256').update(c).digest()
    const nonce = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', key, nonce)
    const body = cipher.update(c)
    cipher.final()
    createHash('sha256').update(nonce).update(body).update(cipher.getAuthTag()).digest()
  }
  const rawSeconds = (performance.now() - t) / 1000

  // openChunk alone.
  t = performance.now()
  for (const s of sealed) await openChunk(s.id, s.key, s.sealed)
  const openSeconds = (performance.now() - t) / 1000
  t = performance.now()
  await inFlight(sealed, 4, async (s) => { await openChunk(s.id, s.key, s.sealed) })
  const open4Seconds = (performance.now() - t) / 1000

  // Storage, on 1 MiB-ish sealed blobs (the first STORAGE_BLOBS chunks).
  const blobs = sealed.slice(0, STORAGE_BLOBS)
  const blobBytes = blobs.reduce((n, b) => n + b.sealed.length, 0)
  const plainBytes = blobs.reduce((n, b) => n + b.size, 0)
  const dir = join(scratch, 'micro-storage')
  await mkdir(dir, { recursive: true })
  const perBlob = async (fsync: boolean): Promise<number> => {
    const started = performance.now()
    for (let i = 0; i < blobs.length; i++) {
      const fh = await open(join(dir, `${fsync ? 's' : 'n'}${i}`), 'w', 0o600)
      await fh.writeFile(blobs[i].sealed)
      if (fsync) await fh.sync()
      await fh.close()
    }
    return (performance.now() - started) / blobs.length
  }
  const writeNoSyncMs = await perBlob(false)
  const writeFsyncMs = await perBlob(true)

  const seqStore = new BlobStore(join(dir, 'seq'))
  await seqStore.start()
  t = performance.now()
  for (const b of blobs) await seqStore.put(OWNER, b.id, b.sealed, true)
  const storePutMs = (performance.now() - t) / blobs.length

  const store = new BlobStore(join(dir, 'par'))
  await store.start()
  t = performance.now()
  await inFlight(blobs, 4, async (b) => { await store.put(OWNER, b.id, b.sealed, true) })
  const storePut4Seconds = (performance.now() - t) / 1000

  t = performance.now()
  await inFlight(blobs, 4, async (b) => { await openChunk(b.id, b.key, await store.get(OWNER, b.id)) })
  const storeGet4Seconds = (performance.now() - t) / 1000
  await rm(dir, { recursive: true, force: true })

  return {
    chunks: sizes.length,
    avgChunkBytes: Math.round(bytes / sizes.length),
    chunkerMBps: mbps(bytes, chunkerSeconds),
    sealChunkMBps: mbps(bytes, sealSeconds),
    sealChunk4MBps: mbps(bytes, seal4Seconds),
    rawCryptoMBps: mbps(bytes, rawSeconds),
    openChunkMBps: mbps(bytes, openSeconds),
    openChunk4MBps: mbps(bytes, open4Seconds),
    writeNoSyncMs,
    writeFsyncMs,
    storePutMs,
    storePut4MBps: mbps(blobBytes, storePut4Seconds),
    storeGetOpen4MBps: mbps(plainBytes, storeGet4Seconds)
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, in order of start. */
async function inFlight<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}
