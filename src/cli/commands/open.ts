// `open`: asks the running node for a one-time login link to its dashboard (valid a minute, good
// for one browser session) and prints it; with --browser, or on a desktop terminal, opens it too.
import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { printJson, printLine } from '../output.ts'

interface OpenOptions extends CommonOptions { browser?: boolean }

/** Whether this looks like a desktop session, where opening a browser is what the user expects. */
function onDesktop (): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true
  return process.env.DISPLAY !== undefined || process.env.WAYLAND_DISPLAY !== undefined
}

/** Hands the URL to the desktop's opener; true when one was started. */
function openInBrowser (url: string): Promise<boolean> {
  const [command, args] = process.platform === 'darwin'
    ? ['open', [url]]
    : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]]
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', detached: true })
    child.once('error', () => resolve(false))
    child.once('spawn', () => { child.unref(); resolve(true) })
  })
}

export function registerOpen (program: Command): void {
  withCommon(program.command('open'))
    .description('print (or open) a one-time login link to the node\'s dashboard')
    .option('--browser', 'open the link in the default browser')
    .option('--no-browser', 'only print the link, even on a desktop')
    .action(async (flags: OpenOptions) => {
      const link = await (await clientFor(flags)).json<{ url: string, expiresAt: string }>('/api/session/link', { method: 'POST' })
      const wantsBrowser = flags.browser === true || (flags.browser === undefined && process.stdout.isTTY === true && onDesktop())
      const opened = wantsBrowser ? await openInBrowser(link.url) : false
      if (wantsBrowser && !opened) process.stderr.write('note: no browser could be started; open the link yourself\n')
      if (flags.json === true) { printJson({ ...link, opened }); return }
      printLine(link.url)
      process.stderr.write(`one-time login link, valid until ${link.expiresAt} (60 s); run "distri-vault open" again for a new one\n`)
    })
}
