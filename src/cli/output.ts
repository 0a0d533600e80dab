// How the CLI speaks: JSON documents for scripts, aligned text for people, and one error format
// (`error: <message> (<CODE>)`, exit 1; usage errors exit 2; a stack only with DV_DEBUG=1).
import { VaultError, toVaultError } from '../errors.ts'

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n')
}

export function printLine (text: string): void {
  process.stdout.write(text + '\n')
}

/**
 * Text from another node, made safe for a terminal: control characters (C0, DEL, C1, so ESC and
 * CSI too) and the Unicode bidirectional controls are shown escaped (`\x1b`, `\u202e`), so a
 * message cannot move the cursor, clear the screen or reorder what is shown around it.
 */
export function escapeControls (text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

export function formatBytes (bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++ }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`
}

/** Rows of cells as aligned columns (the last column is not padded). */
export function formatTable (header: string[], rows: string[][]): string {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map(r => (r[i] ?? '').length)))
  return all.map(r => r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i])).join('  ')).join('\n')
}

export function exitCodeOf (err: VaultError): number {
  return err.code === 'BAD_USAGE' ? 2 : 1
}

export function reportError (err: unknown): number {
  const vaultError = toVaultError(err)
  const message = vaultError.code === 'INTERNAL' ? `unexpected failure: ${vaultError.message}` : vaultError.message
  // One line per problem (a put that checked all its inputs reports each).
  for (const line of message.split('\n')) process.stderr.write(`error: ${line} (${vaultError.code})\n`)
  if (process.env.DV_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`)
  return exitCodeOf(vaultError)
}
