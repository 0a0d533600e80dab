// A tiny terminal: replays what a program wrote to a pseudo-terminal (text, CR/LF and the few
// escape sequences progress bars use) and returns the screen's lines, as a user would see them.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'

export interface TerminalProcess { proc: ChildProcessByStdio<Writable, Readable, Readable>, output: () => string, exited: Promise<number | null> }

/** Like runOnTerminal, but returns at once: the test types (stdin) and reads the screen as it goes. */
export function spawnOnTerminal (command: string, env: NodeJS.ProcessEnv = {}): TerminalProcess {
  const proc = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, COLUMNS: '200', LINES: '50', ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout.on('data', (d: Buffer) => { out += d.toString('utf8') })
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)))
  return { proc, output: () => out, exited }
}

/** Runs a shell command line under `script` (util-linux), so stdout and stderr are a terminal. */
export async function runOnTerminal (command: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<string> {
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, COLUMNS: '200', LINES: '50', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  child.stdout.on('data', (d: Buffer) => out.push(d))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  await new Promise((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  return Buffer.concat(out).toString('utf8')
}

export function renderScreen (raw: string): string[] {
  const rows: string[][] = [[]]
  let row = 0
  let col = 0
  let saved = { row: 0, col: 0 }
  const line = (): string[] => { while (rows.length <= row) rows.push([]); return rows[row] }
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]
    if (c === '\x1b') {
      const next = raw[i + 1]
      if (next === '7') { saved = { row, col }; i++; continue }
      if (next === '8') { ({ row, col } = saved); i++; continue }
      const m = /^\[(\??)(\d*(?:;\d+)*)([A-Za-z])/.exec(raw.slice(i + 1))
      if (m === null) continue
      i += m[0].length
      if (m[1] === '?') continue // modes: cursor visibility, wrapping
      const n = Number(m[2] === '' ? '0' : m[2].split(';')[0])
      if (m[3] === 'G') col = Math.max(0, n - 1)
      else if (m[3] === 'K' && n === 0) line().length = Math.min(line().length, col)
      else if (m[3] === 'K' && n === 2) line().length = 0
      else if (m[3] === 'A') row = Math.max(0, row - Math.max(1, n))
      else if (m[3] === 'B') row += Math.max(1, n)
      continue
    }
    if (c === '\r') { col = 0; continue }
    if (c === '\n') { row++; col = 0; line(); continue }
    const cells = line()
    while (cells.length < col) cells.push(' ')
    cells[col++] = c
  }
  return rows.map(r => r.join('').trimEnd())
}
