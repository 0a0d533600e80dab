// The private-network protector: only holders of the network key get past it. Wire-compatible
// with @libp2p/pnet and go-libp2p (swarm key v1): each side sends a random 24-byte nonce in clear,
// then XORs every byte it sends with XSalsa20(key, its nonce) and every byte it receives with
// XSalsa20(key, the remote's nonce). A stranger's bytes decrypt to noise and fail the handshake.
//
// Ours rather than @libp2p/pnet's because its 3.0.27 breaks on large writes: it hands whole
// write buffers (megabytes) to the xsalsa20 WebAssembly module, whose memory growth is buggy —
// once it grows, every other cipher's stale view makes it grow again on each call until the 64 MB
// cap, and from then on every protected connection in the process fails ("WebAssembly.Memory.grow():
// Maximum memory size exceeded", fixed upstream by js-libp2p PR #3585, not yet released). It also
// never frees its ciphers' slots. We XOR in 16 KiB windows, so the module's memory never grows,
// and free both ciphers when the connection closes.

import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import type { AbortOptions, ConnectionProtector, Logger, MessageStream, MultiaddrConnection } from '@libp2p/interface'

interface XorCipher {
  update: (input: Uint8Array, output: Uint8Array) => Uint8Array
  finalize: () => void
}

// The very module @libp2p/pnet uses (its dependency, resolved from there): same keystream.
const createXSalsa20 = createRequire(import.meta.resolve('@libp2p/pnet'))('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => XorCipher

const NONCE_BYTES = 24
const KEY_BYTES = 32
/** Well under the module's initial 640 KiB of memory, with room for its cipher slots. */
const XOR_WINDOW_BYTES = 16 * 1024

export interface PrivateNetworkOptions {
  /** The 32-byte secret of the swarm key file. */
  key: Uint8Array
  /** Deadline of the nonce exchange when libp2p gives none. */
  timeoutMs: number
}

export function privateNetwork (options: PrivateNetworkOptions): ConnectionProtector {
  if (options.key.byteLength !== KEY_BYTES) throw new Error(`a private-network key has ${KEY_BYTES} bytes`)
  return {
    async protect (connection: MessageStream, abort?: AbortOptions): Promise<MessageStream> {
      const maConn = connection as MultiaddrConnection
      const signal = abort?.signal ?? AbortSignal.timeout(options.timeoutMs)
      const localNonce = new Uint8Array(randomBytes(NONCE_BYTES))
      const bytes = byteStream(maConn)
      const [remoteNonce] = await Promise.all([
        bytes.read({ bytes: NONCE_BYTES, signal }),
        bytes.write(localNonce, { signal })
      ])
      return new XorConnection(bytes.unwrap(), options.key, localNonce, remoteNonce.subarray(), maConn.log.newScope('private-network'))
    }
  }
}

/** XORs one direction with a keystream, window by window; returns a new buffer. */
function xorInWindows (cipher: XorCipher, chunks: Iterable<Uint8Array>, byteLength: number): Uint8Array {
  const output = new Uint8Array(byteLength)
  let offset = 0
  for (const chunk of chunks) {
    for (let start = 0; start < chunk.byteLength; start += XOR_WINDOW_BYTES) {
      const window = chunk.subarray(start, start + XOR_WINDOW_BYTES)
      cipher.update(window, output.subarray(offset, offset + window.byteLength))
      offset += window.byteLength
    }
  }
  return output
}

type SendData = AbstractMultiaddrConnection['sendData']

class XorConnection extends AbstractMultiaddrConnection {
  private readonly maConn: MultiaddrConnection
  private readonly inbound: XorCipher
  private readonly outbound: XorCipher
  private released = false

  constructor (maConn: MultiaddrConnection, key: Uint8Array, localNonce: Uint8Array, remoteNonce: Uint8Array, log: Logger) {
    super({ remoteAddr: maConn.remoteAddr, direction: maConn.direction, log })
    this.maConn = maConn
    this.inbound = createXSalsa20(remoteNonce, key)
    this.outbound = createXSalsa20(localNonce, key)
    maConn.addEventListener('message', (evt) => {
      if (this.released) return
      const data = evt.data
      this.onData(data instanceof Uint8Array ? xorInWindows(this.inbound, [data], data.byteLength) : xorInWindows(this.inbound, data, data.byteLength))
    })
    // Without this the first full socket buffer would stall our writes for good.
    maConn.addEventListener('drain', () => { this.onMuxerDrain() })
    maConn.addEventListener('close', (evt) => {
      if (evt.error == null) this.onTransportClosed()
      else if (evt.local) this.abort(evt.error)
      else this.onRemoteReset()
    })
    this.addEventListener('close', () => { this.release() })
  }

  sendData (data: Parameters<SendData>[0]): ReturnType<SendData> {
    if (this.released) return { sentBytes: data.byteLength, canSendMore: false }
    return { sentBytes: data.byteLength, canSendMore: this.maConn.send(xorInWindows(this.outbound, data, data.byteLength)) }
  }

  sendReset (err: Error): void { this.maConn.abort(err) }

  sendPause (): void { this.maConn.pause() }

  sendResume (): void { this.maConn.resume() }

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.maConn.close(options)
  }

  /** Gives both ciphers' slots back to the module (and wipes their keys). */
  private release (): void {
    if (this.released) return
    this.released = true
    this.inbound.finalize()
    this.outbound.finalize()
  }
}
