// How `start` logs: JSON lines (pino) for pipes, files and `--log-format json`; on a terminal,
// one short readable line per event ("12:03:04 WARN  net  dial failed peer=… err=…"), so a
// person can read what the node does and the recovery phrase banner is not lost among JSON.
import { pino, type Logger } from 'pino'
import { escapeControls } from './output.ts'

export type LogFormat = 'auto' | 'text' | 'json'

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'sub'])

/** Text on a terminal unless asked otherwise; JSON otherwise. Undefined: the node's own JSON logger. */
export function createStartLogger (format: LogFormat, level: string, out: NodeJS.WriteStream = process.stderr): Logger | undefined {
  const text = format === 'text' || (format === 'auto' && out.isTTY === true)
  if (!text) return undefined
  return pino({ level }, { write: (line: string) => { out.write(formatLogLine(line)) } })
}

/** One pino JSON line as a readable line (with its newline). */
export function formatLogLine (line: string): string {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(line) as Record<string, unknown>
  } catch {
    return escapeControls(line.trimEnd()) + '\n'
  }
  const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toTimeString().slice(0, 8)
  const level = (LEVELS[Number(record.level)] ?? String(record.level)).padEnd(5)
  const sub = typeof record.sub === 'string' ? `${record.sub.padEnd(5)} ` : ''
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`)
  return escapeControls(`${time} ${level} ${sub}${String(record.msg ?? '')}${fields.length > 0 ? '  ' + fields.join(' ') : ''}`) + '\n'
}

function formatValue (value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) || value === '' ? JSON.stringify(value) : value
  if (value !== null && typeof value === 'object' && 'message' in value) return JSON.stringify((value as { message: unknown }).message)
  return JSON.stringify(value)
}
