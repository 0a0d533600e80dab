// distri-vault's command line: commander parses, each verb is a thin client of the node's HTTP
// API (except init and start). Exit 0 ok, 1 failure, 2 bad usage; errors never print a stack.
import { Command, CommanderError } from 'commander'
import { VaultError } from '../errors.ts'
import { reportError } from './output.ts'
import { registerInit } from './commands/init.ts'
import { registerStart } from './commands/start.ts'
import { registerPut } from './commands/put.ts'
import { registerGet } from './commands/get.ts'
import { registerCatalog, registerHealth } from './commands/catalog.ts'
import { registerStatus } from './commands/status.ts'
import { registerMsg } from './commands/msg.ts'
import { registerRecover } from './commands/recover.ts'
import { registerScrub } from './commands/scrub.ts'
import { registerVersions } from './commands/versions.ts'
import { registerSync } from './commands/sync.ts'
import { registerOpen } from './commands/open.ts'

export function buildProgram (): Command {
  const program = new Command('distri-vault')
    .description('decentralized, encrypted, peer-to-peer file vault')
    .version('0.1.0')
    // The program's own options (--version) only before the verb: `get NAME --version N` is get's.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // Usage errors come out in the one error format; help text goes to stdout as usual.
      outputError: (text, write) => write(`error: ${text.replace(/^error: /, '').trim()} (BAD_USAGE)\n`)
    })
  registerInit(program)
  registerStart(program)
  registerPut(program)
  registerGet(program)
  registerCatalog(program)
  registerStatus(program)
  registerHealth(program)
  registerMsg(program)
  registerRecover(program)
  registerScrub(program)
  registerVersions(program)
  registerSync(program)
  registerOpen(program)
  return program
}

export async function main (argv: string[]): Promise<number> {
  // `distri-vault status | head -2`: the reader went away, which is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0) })
  try {
    await buildProgram().parseAsync(argv)
    return 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version succeed; a missing subcommand ('commander.help': help shown as an error) is bad usage.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0
      return 2
    }
    if (err instanceof VaultError || err instanceof Error) return reportError(err)
    return reportError(new Error(String(err)))
  }
}

