// The chunker is the spec of dedup: boundaries depend on content only, never on how the bytes
// arrive, and the chunks always add back up to the input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { chunkStream, DEFAULT_CHUNKING, type ChunkerOptions } from '../../src/chunker/index.ts'

const KiB = 1024
const MiB = 1024 * KiB
const { minBytes, maxBytes } = DEFAULT_CHUNKING
/** Small sizes so property tests see many boundaries in little data. */
const SMALL: ChunkerOptions = { minBytes: 64, avgBytes: 256, maxBytes: 1024 }

async function * inPieces (data: Uint8Array, pieceBytes: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += pieceBytes) yield data.subarray(i, i + pieceBytes)
}

async function * inSplits (data: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let from = 0
  for (const cut of [...cuts, data.length]) {
    yield data.subarray(from, cut)
    from = cut
  }
}

async function chunksOf (source: AsyncIterable<Uint8Array>, options?: ChunkerOptions): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const chunk of chunkStream(source, options)) out.push(chunk)
  return out
}

const hashOf = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

test('chunks joined back together equal the input, from 0 bytes to several MiB', async () => {
  for (const size of [0, 1, 1000, minBytes - 1, minBytes, minBytes + 1, MiB, 3 * MiB + 17, 9 * MiB]) {
    const data = randomBytes(size)
    const chunks = await chunksOf(inPieces(data, 64 * KiB))
    assert.ok(Buffer.concat(chunks).equals(data), `${size} bytes round-trip`)
    assert.ok(chunks.every(c => c.length > 0), `${size} bytes: no empty chunk`)
    if (size === 0) assert.equal(chunks.length, 0)
    if (size > 0 && size <= minBytes) assert.equal(chunks.length, 1, `${size} bytes (at most the minimum) is one chunk`)
  }
})

test('every chunk but the last is between the minimum and maximum chunk size', async () => {
  // Random data cuts on content; all-zero data never matches the mask, so it hits the maximum.
  for (const data of [randomBytes(24 * MiB), Buffer.alloc(13 * MiB)]) {
    const chunks = await chunksOf(inPieces(data, 100 * KiB))
    assert.ok(chunks.length > 2)
    for (const [i, c] of chunks.entries()) {
      assert.ok(c.length <= maxBytes, `chunk ${i} is ${c.length} bytes, above the maximum`)
      if (i < chunks.length - 1) assert.ok(c.length >= minBytes, `chunk ${i} is ${c.length} bytes, below the minimum`)
    }
    assert.ok(Buffer.concat(chunks).equals(data))
  }
})

test('random data averages roughly the 1 MiB target chunk size', async () => {
  const data = randomBytes(32 * MiB)
  const chunks = await chunksOf(inPieces(data, MiB))
  const avg = data.length / chunks.length
  assert.ok(avg > 512 * KiB && avg < 2 * MiB, `average chunk is ${Math.round(avg / KiB)} KiB`)
})

test('inserting bytes near the start of a 20 MiB file leaves most chunks unchanged', async () => {
  const original = randomBytes(20 * MiB)
  const edited = Buffer.concat([original.subarray(0, 5000), randomBytes(100), original.subarray(5000)])
  const before = (await chunksOf(inPieces(original, 64 * KiB))).map(hashOf)
  const after = new Set((await chunksOf(inPieces(edited, 64 * KiB))).map(hashOf))
  const kept = before.filter(h => after.has(h)).length
  assert.ok(before.length >= 8, `expected many chunks, got ${before.length}`)
  // Only the chunk(s) around the edit change; content-defined cuts resynchronise right after.
  assert.ok(kept >= before.length - 2, `${kept} of ${before.length} chunks survived the insert`)
  assert.ok(after.size - kept <= 2, `${after.size - kept} new chunks after a 100-byte insert`)
})

test('the same data gives the same chunks whether it arrives in 1 byte, 64 KiB or 1 MiB pieces', async () => {
  const small = randomBytes(40 * KiB)
  const expectedSmall = (await chunksOf(inPieces(small, small.length), SMALL)).map(hashOf)
  assert.ok(expectedSmall.length > 10)
  assert.deepEqual((await chunksOf(inPieces(small, 1), SMALL)).map(hashOf), expectedSmall)

  const big = randomBytes(12 * MiB)
  const whole = (await chunksOf(inPieces(big, big.length))).map(hashOf)
  assert.ok(whole.length > 3)
  for (const piece of [64 * KiB, MiB, 7 * KiB + 3]) {
    assert.deepEqual((await chunksOf(inPieces(big, piece))).map(hashOf), whole, `${piece}-byte pieces`)
  }
  // Default sizes with 1-byte pieces: no cut before the minimum, and the byte-by-byte path agrees.
  const tiny = randomBytes(minBytes + 10 * KiB)
  assert.deepEqual((await chunksOf(inPieces(tiny, 1))).map(hashOf), (await chunksOf(inPieces(tiny, tiny.length))).map(hashOf))
})

test('plain Uint8Array pieces (not Buffers) chunk the same as Buffers', async () => {
  const data = randomBytes(3 * MiB)
  async function * asUint8 (): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < data.length; i += 50 * KiB) yield new Uint8Array(data.subarray(i, i + 50 * KiB))
  }
  assert.deepEqual((await chunksOf(asUint8())).map(hashOf), (await chunksOf(inPieces(data, MiB))).map(hashOf))
})

test('property: any split of any input yields chunks that rebuild the input, identical to the unsplit chunks', async () => {
  await fc.assert(fc.asyncProperty(
    fc.uint8Array({ minLength: 0, maxLength: 8000 }),
    fc.array(fc.nat(), { maxLength: 20 }),
    async (data, rawCuts) => {
      const cuts = [...new Set(rawCuts.map(c => c % (data.length + 1)))].sort((a, b) => a - b)
      const whole = await chunksOf(inPieces(data, Math.max(1, data.length)), SMALL)
      const split = await chunksOf(inSplits(data, cuts), SMALL)
      assert.ok(Buffer.concat(split).equals(Buffer.from(data)))
      assert.deepEqual(split.map(hashOf), whole.map(hashOf))
      for (const [i, c] of split.entries()) {
        assert.ok(c.length > 0 && c.length <= SMALL.maxBytes)
        if (i < split.length - 1) assert.ok(c.length >= SMALL.minBytes)
      }
    }
  ), { numRuns: 200 })
})

test('a chunker that owns its input gives the same chunks and frees every input buffer once copied', async () => {
  const data = randomBytes(9 * MiB + 12345)
  const expected = await chunksOf(inPieces(data, 64 * KiB))
  const fed: Buffer[] = []
  async function * ownBuffers (): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += MiB) {
      const own = Buffer.alloc(Math.min(MiB, data.length - i))
      data.copy(own, 0, i)
      fed.push(own)
      yield own
    }
  }
  const got: Buffer[] = []
  for await (const chunk of chunkStream(ownBuffers(), DEFAULT_CHUNKING, true)) got.push(Buffer.from(chunk))
  assert.deepEqual(got.map((c) => c.length), expected.map((c) => c.length))
  assert.ok(Buffer.concat(got).equals(data))
  assert.ok(fed.length > 5)
  for (const b of fed) assert.equal(b.length, 0, 'freed (detached) after its bytes went into chunks')
})

test('a chunker that owns its input survives a cut at the very end of an input buffer (max-size chunks of zeros)', async () => {
  // Zeros have no content-defined cut: every chunk is maxBytes long, and with 1 MiB inputs each cut
  // falls exactly at the end of one. That buffer is freed with the chunk; nothing may touch it after.
  const sizes = [4 * MiB, 4 * MiB + 1, 9 * MiB]
  for (const size of sizes) {
    async function * ownZeros (): AsyncGenerator<Buffer> {
      for (let i = 0; i < size; i += MiB) yield Buffer.alloc(Math.min(MiB, size - i))
    }
    const got: number[] = []
    for await (const chunk of chunkStream(ownZeros(), DEFAULT_CHUNKING, true)) {
      assert.ok(chunk.every(b => b === 0))
      got.push(chunk.length)
    }
    assert.equal(got.reduce((a, b) => a + b, 0), size)
    assert.ok(got.slice(0, -1).every(n => n === DEFAULT_CHUNKING.maxBytes), `${size}: ${got.join(', ')}`)
  }
})
