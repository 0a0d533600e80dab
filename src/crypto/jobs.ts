// crypto's jobs on the worker pool (workers/): sealing, opening and hashing chunks.
import { defineJob } from '../workers/index.ts'
import { asBuffer, movable } from '../buffers/index.ts'
import { openChunkSync, sealChunkSync, type SealedChunk } from './chunk-cipher.ts'
import { sha256Hex } from './hashes.ts'

export const sealJob = defineJob({
  name: 'crypto.seal',
  module: import.meta.url,
  perform: (input: { vaultKey: Uint8Array, data: Uint8Array }) => {
    const chunk = sealChunkSync(input.vaultKey, input.data)
    return { result: chunk, transfer: movable(chunk.sealed) }
  },
  // A key is a view into Node's shared buffer pool: send its own 32 bytes, not the whole pool.
  trim: (input) => ({ vaultKey: Uint8Array.prototype.slice.call(input.vaultKey) }),
  revive: (chunk: SealedChunk) => ({ ...chunk, sealed: asBuffer(chunk.sealed) })
})

export const openJob = defineJob({
  name: 'crypto.open',
  module: import.meta.url,
  perform: (input: { id: string, key: string, hashVerified: boolean, data: Uint8Array }) => {
    const plain = openChunkSync(input.id, input.key, input.data, input.hashVerified)
    return { result: plain, transfer: movable(plain) }
  },
  revive: (plain: Buffer) => asBuffer(plain)
})

export const sha256Job = defineJob({
  name: 'crypto.sha256',
  module: import.meta.url,
  perform: (input: { data: Uint8Array, giveBack?: boolean }) => {
    const data = input.giveBack === true ? asBuffer(input.data) : Buffer.alloc(0)
    return { result: { hex: sha256Hex(input.data), data }, transfer: movable(data) }
  },
  spendsInput: (input) => input.giveBack !== true,
  revive: (r: { hex: string, data: Buffer }) => ({ hex: r.hex, data: asBuffer(r.data) })
})
