// The private-network protector: only holders of the network key get past it. Wire-compatible
// with @libp2p/pnet and go-libp2p (swarm key v1): each side sends a random 24-byte nonce in clear,
// then XORs every byte it sends with XSalsa20(key, its nonce) and every byte it receives with
// XSalsa20(key, the remote's nonce). A stranger's bytes decrypt to noise and fail the handshake.
//
// Ours rather than @libp2p/pnet's: it XORs in the `xsalsa20` WebAssembly module (~160-300 MB/s
// here, the cap of one stream), allocates a new buffer for every byte in both directions, and in
// 3.0.27 breaks on large writes (the module's memory growth bug, fixed upstream by js-libp2p PR
// #3585). We XOR with libsodium (xsalsa20.ts, ~1,850 MB/s): received bytes in place, in the very
// buffers the socket delivered (nobody else holds them), so this layer allocates nothing inbound;
// sent bytes once, into one buffer per write (what we are given may be held elsewhere, e.g. a
// constant of the layer above). The keystream is byte-identical to the old module's
// (test/net/pnet-keystream.test.ts), so stock peers interoperate.

import { randomBytes } from 'node:crypto'
import { Socket } from 'node:net'
import { release as freeBuffer } from '../buffers/index.ts'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import type { AbortOptions, ConnectionProtector, Logger, MessageStream, MultiaddrConnection } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { isFreshCiphertext, withHeadroom } from './noise-crypto.ts'
import { XSalsa20Stream, XSALSA20_KEY_BYTES as KEY_BYTES, XSALSA20_NONCE_BYTES as NONCE_BYTES } from './xsalsa20.ts'

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

/** A `Uint8ArrayList` as far as we use it (its pieces, in order). */
type ByteList = Iterable<Uint8Array> & { byteLength: number }

/** XORs received bytes in place, piece by piece. */
function xorInPlace (keystream: XSalsa20Stream, data: Uint8Array | ByteList): void {
  if (data instanceof Uint8Array) keystream.xor(data)
  else for (const piece of data) keystream.xor(piece)
}

/** Pieces at least this big that Noise's cipher made for us are XORed in place; smaller ones join a copied run. */
const IN_PLACE_MIN_BYTES = 1024

/**
 * XORs bytes to send: the ciphertext buffers our Noise cipher just made (nobody else holds them)
 * in place, every other run of pieces (Noise's length prefixes, tags, anything else) into a new
 * buffer, since what we are given may be held elsewhere — except a run short enough for the room
 * our Noise cipher leaves in front of the frame that follows it (its length prefix), copied there
 * so prefix and frame are one buffer and one socket write. Returns the pieces to write, in order.
 */
export function xorForSending (keystream: XSalsa20Stream, data: Uint8Array | ByteList): Uint8Array[] {
  const out: Uint8Array[] = []
  let run: Uint8Array[] = []
  let runBytes = 0
  const copyRun = (): void => {
    if (run.length === 0) return
    out.push(xorToNew(keystream, { byteLength: runBytes, [Symbol.iterator]: () => run[Symbol.iterator]() }))
    run = []
    runBytes = 0
  }
  for (const piece of data instanceof Uint8Array ? [data] : data) {
    if (piece.byteLength >= IN_PLACE_MIN_BYTES && isFreshCiphertext(piece)) {
      // Noise's 2-byte length prefix goes into the room left in front of the frame: one write.
      const joined = withHeadroom(piece, runBytes)
      if (joined !== undefined && run.length > 0) {
        let at = 0
        for (const small of run) { joined.set(small, at); at += small.byteLength }
        run = []
        runBytes = 0
        keystream.xor(joined)
        out.push(joined)
        continue
      }
      copyRun()
      keystream.xor(piece)
      out.push(piece)
    } else {
      run.push(piece)
      runBytes += piece.byteLength
    }
  }
  copyRun()
  return out
}

/** XORs bytes to send into one new buffer. */
function xorToNew (keystream: XSalsa20Stream, data: ByteList): Uint8Array {
  const output = Buffer.allocUnsafe(data.byteLength)
  let offset = 0
  for (const piece of data) {
    keystream.xor(piece, output.subarray(offset, offset + piece.byteLength))
    offset += piece.byteLength
  }
  return output
}

type SendData = AbstractMultiaddrConnection['sendData']

class XorConnection extends AbstractMultiaddrConnection {
  private readonly maConn: MultiaddrConnection
  private readonly inbound: XSalsa20Stream
  private readonly outbound: XSalsa20Stream
  private released = false
  /** The TCP socket under `maConn`, when it is one (@libp2p/tcp keeps it as `socket`). */
  private readonly socket: Socket | undefined
  /** Buffers handed to `maConn` and maybe not yet written (freeSent). */
  private readonly sent: Uint8Array[] = []

  constructor (maConn: MultiaddrConnection, key: Uint8Array, localNonce: Uint8Array, remoteNonce: Uint8Array, log: Logger) {
    super({ remoteAddr: maConn.remoteAddr, direction: maConn.direction, log })
    this.maConn = maConn
    this.inbound = new XSalsa20Stream(key, remoteNonce)
    this.outbound = new XSalsa20Stream(key, localNonce)
    const socket = (maConn as unknown as { socket?: unknown }).socket
    this.socket = socket instanceof Socket ? socket : undefined
    maConn.addEventListener('message', (evt) => {
      if (this.released) return
      xorInPlace(this.inbound, evt.data)
      this.onData(evt.data)
    })
    // Without this the first full socket buffer would stall our writes for good.
    maConn.addEventListener('drain', () => { this.freeSent(); this.onMuxerDrain() })
    maConn.addEventListener('close', (evt) => {
      if (evt.error == null) this.onTransportClosed()
      else if (evt.local) this.abort(evt.error)
      else this.onRemoteReset()
    })
    this.addEventListener('close', () => { this.release() })
  }

  sendData (data: Parameters<SendData>[0]): ReturnType<SendData> {
    if (this.released) return { sentBytes: data.byteLength, canSendMore: false }
    const output = xorForSending(this.outbound, data)
    const canSendMore = this.maConn.send(output.length === 1 ? output[0] : new Uint8ArrayList(...output) as unknown as Parameters<MultiaddrConnection['send']>[0])
    this.sent.push(...output)
    this.freeSent()
    return { sentBytes: data.byteLength, canSendMore }
  }

  /**
   * Frees the buffers we XORed into once the kernel has every byte of them: megabytes a second
   * that would otherwise wait for V8's next full collection (their external memory is what
   * triggers those). Only when nothing is queued above the socket and the socket's own queue is
   * empty (every write completed, so no write request still points at them); else at 'drain' or
   * at the next send.
   */
  private freeSent (): void {
    if (this.sent.length === 0 || this.socket === undefined) return
    const queued = (this.maConn as unknown as { writeBuffer?: { byteLength: number } }).writeBuffer?.byteLength
    if (queued !== 0 || this.socket.writableLength !== 0) return
    for (const buffer of this.sent) freeBuffer(buffer)
    this.sent.length = 0
  }

  sendReset (err: Error): void { this.maConn.abort(err) }

  sendPause (): void { this.maConn.pause() }

  sendResume (): void { this.maConn.resume() }

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.maConn.close(options)
  }

  /** Wipes both keystreams' keys and state. */
  private release (): void {
    if (this.released) return
    this.released = true
    this.sent.length = 0 // a write may still be pending: leave them to the garbage collector
    this.inbound.finish()
    this.outbound.finish()
  }
}
