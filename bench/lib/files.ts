// Test files: random (incompressible, no two chunks alike, so no dedup helps) and hashed.
import { createHash, randomFillSync } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'

const PIECE = 1024 * 1024

/** Writes `bytes` random bytes to `path`, fsyncs it (so its write-back never overlaps a measurement), returns its SHA-256. */
export async function writeRandomFile (path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(PIECE)
  const fh = await open(path, 'w', 0o600)
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(PIECE, bytes - done)
      const piece = buf.subarray(0, n)
      randomFillSync(piece)
      hash.update(piece)
      await fh.write(piece, 0, n)
      done += n
    }
    await fh.sync()
  } finally {
    await fh.close()
  }
  return hash.digest('hex')
}

export async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const part of createReadStream(path, { highWaterMark: PIECE })) hash.update(part as Buffer)
  return hash.digest('hex')
}
