// The 256-entry gear table of FastCDC. Derived from SHA-256 so it is fixed forever: changing it
// would change every chunk boundary and defeat dedup against data stored earlier.
import { createHash } from 'node:crypto'

// Int32Array, not Uint32Array: the same bits, but every entry stays a small integer in V8 (values
// over 2^31 in a Uint32Array are read as heap doubles), which makes the chunker ~25% faster.
export const GEAR: Int32Array = (() => {
  const table = new Int32Array(256)
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(`distri-vault/gear/${i}`).digest().readInt32BE(0)
  }
  return table
})()
