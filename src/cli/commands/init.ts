// `init`: new identity + recovery phrase (shown once) + network key, or `--recover` from a phrase.
import type { Command } from 'commander'
import { resolveDataDir } from '../../node/data-dir.ts'
import { withCommon, type CommonOptions } from '../common.ts'
import { printJson, printLine } from '../output.ts'

interface InitFlags extends CommonOptions { join?: string, recover?: boolean }

export function registerInit (program: Command): void {
  withCommon(program.command('init'))
    .description('create the data directory, a node identity and its recovery phrase')
    .option('--join <keyfile>', "join an existing network: copy its network.key")
    .option('--recover', 'recreate an identity from its recovery phrase, read from stdin')
    .action(async (flags: InitFlags) => {
      const dataDir = resolveDataDir(flags.data)
      const recoverPhrase = flags.recover === true ? await readPhrase() : undefined
      const { initDataDir } = await import('../../node/init.ts')
      const result = await initDataDir({ dataDir, joinKeyFile: flags.join, recoverPhrase })
      if (flags.json === true) {
        printJson({ nodeId: result.nodeId, ...(result.phrase !== undefined ? { phrase: result.phrase } : {}), dataDir })
        return
      }
      printLine(`initialised ${dataDir}`)
      printLine(`node ID: ${result.nodeId}`)
      printLine(result.networkKeyCreated
        ? `network key: ${dataDir}/network.key (a new network: give this file to the machines that should join, with "init --join")`
        : `network key: ${dataDir}/network.key (joined an existing network)`)
      if (result.phrase !== undefined) printPhrase(result.phrase)
    })
}

export function printPhrase (phrase: string, out: NodeJS.WritableStream = process.stdout): void {
  const words = phrase.split(' ')
  const rows: string[] = []
  for (let i = 0; i < words.length; i += 4) {
    rows.push(words.slice(i, i + 4).map((w, j) => `${String(i + j + 1).padStart(2)}. ${w.padEnd(10)}`).join(' '))
  }
  out.write([
    '',
    '!! RECOVERY PHRASE: write these 24 words down now and keep them offline.',
    '!! They are shown only this once, and they are the only way to get your node and files back.',
    '',
    ...rows.map(r => `   ${r}`),
    ''
  ].join('\n') + '\n')
}

async function readPhrase (): Promise<string> {
  if (process.stdin.isTTY === true) return await readPhraseHidden(process.stdin)
  const parts: Buffer[] = []
  let size = 0
  for await (const part of process.stdin) {
    parts.push(part as Buffer)
    size += (part as Buffer).length
    if (size > 4096) break
  }
  return Buffer.concat(parts).toString('utf8')
}

const MAX_PHRASE_CHARS = 4096

/**
 * On a terminal the phrase is typed without echo (raw mode, as `passwd` does): it must not stay
 * on the screen or in the terminal's scrollback. Enter or Ctrl-D ends it, Backspace works,
 * Ctrl-C aborts; a dot per word typed shows that keys arrive.
 */
async function readPhraseHidden (stdin: NodeJS.ReadStream): Promise<string> {
  // Echo goes off before the prompt is shown: what is typed once the prompt is on the screen must
  // never be echoed (the other order left a window in which a fast typist, or a test, was echoed).
  stdin.setRawMode(true)
  process.stderr.write('Type your 24-word recovery phrase (it is not shown), then press Enter: ')
  let phrase = ''
  try {
    return await new Promise<string>((resolve, reject) => {
      stdin.on('end', () => resolve(phrase))
      stdin.on('error', reject)
      stdin.on('data', (part: Buffer) => {
        for (const char of part.toString('utf8')) {
          if (char === '\u0003') { stdin.setRawMode(false); process.stderr.write('\n'); process.exit(130) }
          if (char === '\r' || char === '\n' || char === '\u0004') { resolve(phrase); return }
          if (char === '\u007f' || char === '\b') { phrase = phrase.slice(0, -1); continue }
          if (char < ' ') continue
          if (char === ' ' && phrase.length > 0 && !phrase.endsWith(' ')) process.stderr.write('.')
          if (phrase.length < MAX_PHRASE_CHARS) phrase += char
        }
      })
    })
  } finally {
    stdin.setRawMode(false)
    stdin.removeAllListeners('data')
    stdin.pause()
    process.stderr.write('\n')
  }
}
