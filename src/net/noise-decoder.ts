// Noise's frame decoder without an exception per received message. @chainsafe/libp2p-noise 17
// reads each frame's 2-byte length with `uint16BEDecode`, which throws a RangeError when fewer than
// 2 bytes are buffered; its decoder loop catches that to mean "wait for more". The loop ends that
// way after *every* socket read, so every read cost a new Error and its stack trace: ~0.1 CPU-s
// per 128 MiB received, the single biggest JavaScript item of a Noise receiver after the crypto
// (docs/PERFORMANCE.md, session 7). The decoder treats a length longer than what is buffered the
// same way ("wait for more"), so ours returns the longest frame instead of throwing; complete
// lengths decode exactly as before. Swapped on each secured connection the package returns (no
// fork); if a release renames its internals, the swap is skipped and nothing else changes.
import type { ConnectionEncrypter } from '@libp2p/interface'

/** Noise's largest frame (u16): longer than any buffer of 0–1 bytes, so the decoder waits. */
const WAIT_FOR_MORE = 0xffff

/** A received buffer as Noise's decoder holds it: one array or a list of them. */
interface Bytes { byteLength: number, get?: (index: number) => number }

/** The 2-byte big-endian length at the start of `data`, or WAIT_FOR_MORE when it is not all here. */
export function noiseFrameLength (data: Uint8Array | Bytes): number {
  if (data.byteLength < 2) return WAIT_FOR_MORE
  if (data instanceof Uint8Array) return (data[0] << 8) | data[1]
  return (data.get!(0) << 8) | data.get!(1)
}

let swapped = 0

/** Secured connections whose decoder was swapped since the process started (tests read it). */
export function quietDecoderCount (): number {
  return swapped
}

function swapDecoder<T extends { connection: unknown }> (secured: T): T {
  const decoder = (secured.connection as { decoder?: { lengthDecoder?: unknown } }).decoder
  if (typeof decoder?.lengthDecoder === 'function') {
    decoder.lengthDecoder = noiseFrameLength
    swapped++
  }
  return secured
}

/** Wraps Noise's encrypter factory so every connection it secures decodes without exceptions. */
export function withQuietDecoder<C> (factory: (components: C) => ConnectionEncrypter): (components: C) => ConnectionEncrypter {
  return (components) => {
    const encrypter = factory(components)
    const inbound = encrypter.secureInbound.bind(encrypter)
    const outbound = encrypter.secureOutbound.bind(encrypter)
    encrypter.secureInbound = async (...args) => swapDecoder(await inbound(...args))
    encrypter.secureOutbound = async (...args) => swapDecoder(await outbound(...args))
    return encrypter
  }
}
