// Content-defined chunking, FastCDC style (gear rolling hash, normalized chunking with a harder
// mask before the target size and an easier one after it, cut-point skipping below the minimum).
// Works as an async generator over any byte stream, holding at most one chunk in memory.
import { GEAR } from './gear.ts'

export interface ChunkerOptions { minBytes: number, avgBytes: number, maxBytes: number }

export const DEFAULT_CHUNKING: ChunkerOptions = { minBytes: 256 * 1024, avgBytes: 1024 * 1024, maxBytes: 4 * 1024 * 1024 }

/** A mask of the top `bits` bits: the high bits of a gear hash depend on the most input bytes. */
function topBits (bits: number): number {
  return (0xffffffff << (32 - bits)) >>> 0
}

export async function * chunkStream (source: AsyncIterable<Uint8Array>, options: ChunkerOptions = DEFAULT_CHUNKING): AsyncGenerator<Buffer> {
  const { minBytes, avgBytes, maxBytes } = options
  const bits = Math.round(Math.log2(avgBytes))
  const maskHard = topBits(bits + 2) | 0
  const maskEasy = topBits(bits - 2) | 0
  let parts: Buffer[] = []
  let length = 0 // bytes in the current chunk so far
  let hash = 0

  for await (const input of source) {
    let piece = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
    while (piece.length > 0) {
      const cut = findCut(piece, length)
      if (cut < 0) {
        parts.push(piece)
        length += piece.length
        break
      }
      parts.push(piece.subarray(0, cut))
      yield parts.length === 1 ? Buffer.from(parts[0]) : Buffer.concat(parts, length + cut)
      parts = []
      length = 0
      hash = 0
      piece = piece.subarray(cut)
    }
  }
  if (length > 0) yield Buffer.concat(parts, length)

  /** Scans `buf` as the continuation of a chunk already `have` bytes long; returns the cut offset in buf or -1. */
  function findCut (buf: Buffer, have: number): number {
    let i = Math.max(0, minBytes - have)
    if (i >= buf.length) return -1
    const normalEnd = Math.min(buf.length, Math.max(0, avgBytes - have))
    const hardEnd = Math.min(buf.length, maxBytes - have)
    let h = hash
    for (; i < normalEnd; i++) {
      h = ((h << 1) + GEAR[buf[i]]) | 0
      if ((h & maskHard) === 0) { hash = h; return i + 1 }
    }
    for (; i < hardEnd; i++) {
      h = ((h << 1) + GEAR[buf[i]]) | 0
      if ((h & maskEasy) === 0) { hash = h; return i + 1 }
    }
    hash = h
    return have + buf.length >= maxBytes ? maxBytes - have : -1
  }
}
