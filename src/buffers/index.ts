// buffers/: moving a buffer's memory between threads and freeing it early — used by the worker
// pool and by the code whose jobs run on it (crypto, store, chunker).
export { asBuffer, release, releaseArrayBuffer, movable } from './buffers.ts'
