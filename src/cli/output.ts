// How the CLI speaks: JSON documents for scripts, aligned text for people, and one error format
// (`error: <message> (<CODE>)`, exit 1; usage errors exit 2; a stack only with DV_DEBUG=1).
import { VaultError, toVaultError } from '../errors.ts'

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n')
}

export function printLine (text: string): void {
  process.stdout.write(text + '\n')
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
  process.stderr.write(`error: ${message} (${vaultError.code})\n`)
  if (process.env.DV_DEBUG === '1') process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`)
  return exitCodeOf(vaultError)
}
