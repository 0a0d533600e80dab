// The 256-entry gear table of FastCDC. Derived from SHA-256 so it is fixed forever: changing it
// would change every chunk boundary and defeat dedup against data stored earlier.
import { createHash } from 'node:crypto'

export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    table[i] = createHash('sha256').update(`distri-vault/gear/${i}`).digest().readUInt32BE(0)
  }
  return table
})()
