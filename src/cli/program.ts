// distri-vault's command line: commander parses, each verb is a thin client of the node's HTTP
// API (except init and start). Exit 0 ok, 1 failure, 2 bad usage; errors never print a stack.
import { Command, CommanderError } from 'commander'
import { VaultError } from '../errors.ts'
import { reportError } from './output.ts'

type Register = (program: Command) => void

/**
 * Each verb group and the module that registers it, in the order `--help` lists them. A command
 * loads only its own group's module (and what that imports): the other verbs' code (put's streams,
 * get's atomic files and crypto, start's node) is a cost `ls` must not pay. A test checks that
 * the names here are the names each module registers.
 */
export const VERB_GROUPS: ReadonlyArray<{ verbs: readonly string[], load: () => Promise<Register> }> = [
  { verbs: ['init'], load: async () => (await import('./commands/init.ts')).registerInit },
  { verbs: ['start'], load: async () => (await import('./commands/start.ts')).registerStart },
  { verbs: ['put'], load: async () => (await import('./commands/put.ts')).registerPut },
  { verbs: ['get'], load: async () => (await import('./commands/get.ts')).registerGet },
  { verbs: ['ls', 'rm', 'share'], load: async () => (await import('./commands/catalog.ts')).registerCatalog },
  { verbs: ['status', 'peers'], load: async () => (await import('./commands/status.ts')).registerStatus },
  { verbs: ['health'], load: async () => (await import('./commands/catalog.ts')).registerHealth },
  { verbs: ['msg'], load: async () => (await import('./commands/msg.ts')).registerMsg },
  { verbs: ['recover'], load: async () => (await import('./commands/recover.ts')).registerRecover },
  { verbs: ['scrub'], load: async () => (await import('./commands/scrub.ts')).registerScrub },
  { verbs: ['versions', 'prune'], load: async () => (await import('./commands/versions.ts')).registerVersions },
  { verbs: ['sync'], load: async () => (await import('./commands/sync.ts')).registerSync },
  { verbs: ['open'], load: async () => (await import('./commands/open.ts')).registerOpen }
]

/**
 * The groups a command line needs: the one of its verb when the verb comes first (`ls --json`,
 * `ls --help`); all of them otherwise (`--help`, `help`, no verb, an unknown or misspelt verb), so
 * help, usage errors and "did you mean" read as they always did.
 */
export function groupsFor (argv: readonly string[]): typeof VERB_GROUPS {
  const verb = argv[2]
  const group = VERB_GROUPS.find(g => verb !== undefined && g.verbs.includes(verb))
  return group === undefined ? VERB_GROUPS : [group]
}

/** The program with the verbs of `groups` (all by default) registered. */
export async function buildProgram (groups: typeof VERB_GROUPS = VERB_GROUPS): Promise<Command> {
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
  const registers = await Promise.all(groups.map(async g => await g.load()))
  for (const register of registers) register(program)
  return program
}

export async function main (argv: string[]): Promise<number> {
  // `distri-vault status | head -2`: the reader went away, which is not an error of ours.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0) })
  try {
    await (await buildProgram(groupsFor(argv))).parseAsync(argv)
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

