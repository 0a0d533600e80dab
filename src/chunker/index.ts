// chunker/: content-defined chunking (FastCDC-style) of a byte stream.
export { chunkStream, DEFAULT_CHUNKING, type ChunkerOptions } from './fastcdc.ts'
