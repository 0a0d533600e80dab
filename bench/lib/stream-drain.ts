// The benches' write loop waits for a libp2p stream's next 'drain' when send() returns false
// (see FrameStream.drained in src/protocols/framing.ts for why not stream.onDrain()).
import type { Stream } from '@libp2p/interface'

/** Resolves on the stream's next 'drain'; rejects if it closes first. */
export async function drained (stream: Stream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => { stream.removeEventListener('close', onClose); resolve() }
    const onClose = (): void => { stream.removeEventListener('drain', onDrain); reject(new Error('stream closed')) }
    stream.addEventListener('drain', onDrain, { once: true })
    stream.addEventListener('close', onClose, { once: true })
  })
}
