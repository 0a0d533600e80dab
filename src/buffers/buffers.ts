// Buffers that cross threads: moving one (its memory changes owner, no copy) and freeing one early.

/** Bytes in data given whole or as the pieces it arrived in (FrameStream.readFramePieces). */
export function byteLength (data: Uint8Array | readonly Uint8Array[]): number {
  return data instanceof Uint8Array ? data.byteLength : data.reduce((sum, piece) => sum + piece.byteLength, 0)
}

export function asBuffer (view: Uint8Array): Buffer {
  return Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength)
}

/**
 * Frees the memory behind `view` now, if the view is all of it, rather than when the garbage
 * collector gets to it: megabytes of buffers a second otherwise make V8 run a full collection
 * every few chunks ("external memory pressure"). Only for buffers nobody else holds.
 */
export function release (view: Uint8Array): void {
  for (const buffer of movable(view)) releaseArrayBuffer(buffer)
}

/** Frees an ArrayBuffer now (all views of it become empty); a second call does nothing. */
export function releaseArrayBuffer (buffer: ArrayBufferLike): void {
  if (!(buffer instanceof ArrayBuffer) || buffer.detached) return
  buffer.transfer(0)
}

/** The view's memory, when the view is all of it (so moving it moves nothing else). */
export function movable (view: Uint8Array): ArrayBuffer[] {
  const buffer = view.buffer
  if (!(buffer instanceof ArrayBuffer) || view.byteLength === 0) return []
  return view.byteOffset === 0 && view.byteLength === buffer.byteLength ? [buffer] : []
}
