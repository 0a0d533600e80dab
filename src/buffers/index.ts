// buffers/: moving a buffer's memory between threads and freeing it early — used by the worker
// pool and by the code whose jobs run on it (crypto, store, chunker) — and the size of data given
// as pieces (framing, store, replication).
export { asBuffer, byteLength, release, releaseArrayBuffer, movable } from './buffers.ts'
