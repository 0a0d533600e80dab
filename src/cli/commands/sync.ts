// `sync DIR [--name NAME]`, `sync --stop NAME`, `sync --list`: folders the node keeps continuously
// stored, as new versions of their tree. The node watches and stores; this only asks it.
import { basename, resolve } from 'node:path'
import type { Command } from 'commander'
import { VaultError } from '../../errors.ts'
import { parseReplicas } from '../../node/flags.ts'
import type { SyncView } from '../../sync/index.ts'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { printJson, printLine } from '../output.ts'
import { formatSyncs } from '../sync-text.ts'

interface SyncFlags extends CommonOptions { name?: string, stop?: string, list?: boolean, takeover?: boolean, replicas?: string }

export function registerSync (program: Command): void {
  withCommon(program.command('sync'))
    .description('keep a folder continuously stored: each change becomes a new version of it (--stop NAME ends it, --list shows them)')
    .argument('[dir]', 'the folder to keep stored (on the node\'s machine)')
    .option('--name <name>', 'name in the vault (default: the folder\'s name)')
    .option('--replicas <n>', 'copies in all, this node counted')
    .option('--takeover', 'sync the name even though another node\'s sync stored its newest version')
    .option('--stop <name>', 'stop syncing NAME (its versions stay)')
    .option('--list', 'the folders synced, their state and last version')
    .action(async (dir: string | undefined, flags: SyncFlags) => {
      const modes = [dir !== undefined, flags.stop !== undefined, flags.list === true].filter(Boolean).length
      if (modes !== 1) throw new VaultError('BAD_USAGE', 'give one of: DIR, --stop NAME, --list')
      if (flags.replicas !== undefined) parseReplicas(flags.replicas)
      const client = await clientFor(flags)
      if (flags.list === true) {
        const syncs = await client.json<SyncView[]>('/api/sync')
        if (flags.json === true) { printJson(syncs); return }
        if (syncs.length === 0) { printLine('no folder is synced (start one with "distri-vault sync DIR")'); return }
        printLine(formatSyncs(syncs))
        return
      }
      if (flags.stop !== undefined) {
        const view = await client.json<SyncView>(`/api/sync/${encodeURIComponent(flags.stop)}`, { method: 'DELETE' })
        if (flags.json === true) printJson(view)
        else printLine(`stopped syncing ${view.name} (${view.dir}); its ${view.lastVersion === null ? 'versions stay' : `versions stay, the last is version ${view.lastVersion}`}`)
        return
      }
      const path = resolve(dir!)
      const body = { path, name: flags.name ?? basename(path), replicas: flags.replicas, takeover: flags.takeover === true ? true : undefined }
      const view = await client.json<SyncView>('/api/sync', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      if (flags.json === true) printJson(view)
      else printLine(`syncing ${view.dir} as ${view.name}: every change is stored as a new version (see "distri-vault sync --list")`)
    })
}
