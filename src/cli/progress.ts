// Progress bars for transfers: only on a terminal, only when the transfer is big enough to wait
// for, never in --json mode (scripts read stdout; the bar draws on stderr anyway).
import { formatBytes } from './output.ts'

const MIN_BYTES_FOR_BAR = 4 * 1024 * 1024

export interface Progress { enabled: boolean, add: (bytes: number) => void, stop: () => void }

/** cli-progress is loaded only when a bar is drawn: scripts and small files do not pay for it. */
export async function createProgress (label: string, totalBytes: number, json: boolean): Promise<Progress> {
  if (json || process.stderr.isTTY !== true || totalBytes < MIN_BYTES_FOR_BAR) return { enabled: false, add: () => {}, stop: () => {} }
  const { default: cliProgress } = await import('cli-progress')
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {percentage}% | {done} / {size} | {speed}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true
  }, cliProgress.Presets.shades_classic)
  const started = Date.now()
  let done = 0
  bar.start(totalBytes, 0, { done: formatBytes(0), size: formatBytes(totalBytes), speed: '' })
  return {
    enabled: true,
    add (bytes: number) {
      done += bytes
      const seconds = Math.max(0.001, (Date.now() - started) / 1000)
      bar.update(done, { done: formatBytes(done), speed: `${formatBytes(done / seconds)}/s` })
    },
    stop () { bar.stop() }
  }
}
