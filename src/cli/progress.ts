// Progress bars for transfers: only on a terminal, only when the transfer is big enough to wait
// for, never in --json mode (scripts read stdout; the bar draws on stderr anyway).
// The bar owns the terminal's last line while it runs: anything printed meanwhile (a file's ID, a
// warning) goes through `print`, which clears the bar first and draws it again below, so a
// result is never overwritten by the bar (cli-progress restores its saved cursor position and
// clears that line when it stops).
import { formatBytes } from './output.ts'

const MIN_BYTES_FOR_BAR = 4 * 1024 * 1024

export interface Progress {
  enabled: boolean
  add: (bytes: number) => void
  /** Writes text (with its newline) to `out` with the bar out of the way. */
  print: (out: NodeJS.WritableStream, text: string) => void
  stop: () => void
}

/** cli-progress is loaded only when a bar is drawn: scripts and small files do not pay for it. */
export async function createProgress (label: string, totalBytes: number, json: boolean): Promise<Progress> {
  if (json || process.stderr.isTTY !== true || totalBytes < MIN_BYTES_FOR_BAR) {
    return { enabled: false, add: () => {}, print: (out, text) => { out.write(text) }, stop: () => {} }
  }
  const { default: cliProgress } = await import('cli-progress')
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {percentage}% | {done} / {size} | {speed}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true
  }, cliProgress.Presets.shades_classic)
  const started = Date.now()
  let done = 0
  let drawn = false
  const payload = (): Record<string, string> => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000)
    return { done: formatBytes(done), size: formatBytes(totalBytes), speed: done === 0 ? '' : `${formatBytes(done / seconds)}/s` }
  }
  const draw = (): void => { bar.start(totalBytes, done, payload()); drawn = true }
  const clear = (): void => { if (drawn) bar.stop(); drawn = false }
  draw()
  return {
    enabled: true,
    add (bytes: number) {
      done += bytes
      if (!drawn && done < totalBytes) draw()
      else if (drawn) bar.update(done, payload())
    },
    print (out: NodeJS.WritableStream, text: string) {
      clear()
      out.write(text)
      if (done < totalBytes) draw()
    },
    stop: clear
  }
}
