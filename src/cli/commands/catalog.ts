// `ls`, `rm`, `share`: the owner's catalog of files.
import type { Command } from 'commander'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { formatBytes, formatTable, printJson, printLine } from '../output.ts'
import type { FileView, EntryView, HealthView } from '../../api/index.ts'

interface RemoveFlags extends CommonOptions { allVersions?: boolean }

export function registerCatalog (program: Command): void {
  withCommon(program.command('ls'))
    .description("list this node's files, or what a stored folder holds (ls NAME)")
    .argument('[ref]', 'a folder: its name, ID or capability')
    .action(async (ref: string | undefined, flags: CommonOptions) => {
      const client = await clientFor(flags)
      if (ref !== undefined) {
        const entries = await client.json<EntryView[]>(`/api/files/${encodeURIComponent(ref)}/tree`)
        if (flags.json === true) { printJson(entries); return }
        if (entries.length === 0) { printLine('the folder is empty'); return }
        printLine(formatTable(['PATH', 'TYPE', 'SIZE', 'MODIFIED'], entries.map(e => [
          e.type === 'dir' ? `${e.path}/` : e.type === 'symlink' ? `${e.path} -> ${e.target ?? ''}` : e.path,
          e.type, e.type === 'file' ? formatBytes(e.size) : '-', e.mtime.slice(0, 19).replace('T', ' ')])))
        return
      }
      const files = await client.json<FileView[]>('/api/files')
      if (flags.json === true) { printJson(files); return }
      if (files.length === 0) { printLine('no files yet: store one with "distri-vault put FILE"'); return }
      printLine(formatTable(['NAME', 'SIZE', 'FILES', 'MODIFIED', 'REPLICAS', 'ID'],
        files.map(f => [f.kind === 'tree' ? `${f.name}/` : f.name, formatBytes(f.size), String(f.files ?? 1), f.mtime.slice(0, 19).replace('T', ' '), String(f.replicas), f.id.slice(0, 16)])))
    })

  withCommon(program.command('rm'))
    .description('delete a file here and on its holders: a name with several versions needs --all-versions; an ID removes that one version')
    .argument('<ref>', 'file name or ID')
    .option('--all-versions', 'remove every version of the name')
    .action(async (ref: string, flags: RemoveFlags) => {
      const query = flags.allVersions === true ? '?allVersions=true' : ''
      const file = await (await clientFor(flags)).json<FileView & { removedVersions: number }>(`/api/files/${encodeURIComponent(ref)}${query}`, { method: 'DELETE' })
      if (flags.json === true) printJson(file)
      else printLine(`removed ${file.name} (${file.removedVersions > 1 ? `${file.removedVersions} versions` : file.id})`)
    })

  withCommon(program.command('share'))
    .description('print a capability string any node of the network can "get"')
    .argument('<ref>', 'file name or ID')
    .action(async (ref: string, flags: CommonOptions) => {
      const { capability } = await (await clientFor(flags)).json<{ capability: string }>(`/api/files/${encodeURIComponent(ref)}/share`)
      if (flags.json === true) printJson({ capability })
      else printLine(capability)
    })
}


export function registerHealth (program: Command): void {
  withCommon(program.command('health'))
    .description('which peers hold each chunk of a file, and whether it meets its copy target')
    .argument('<ref>', 'file name or ID')
    .action(async (ref: string, flags: CommonOptions) => {
      const health = await (await clientFor(flags)).json<HealthView>(`/api/files/${encodeURIComponent(ref)}/health`)
      if (flags.json === true) { printJson(health); return }
      printLine(`${health.name}  ${health.id}`)
      printLine(`copies ${health.replicas} of ${health.target}: ${health.ok ? 'ok' : 'UNDER-REPLICATED'}`)
      printLine(formatTable(['BLOB', 'KIND', 'SIZE', 'COPIES', 'HOLDERS'], health.blobs.map(b => [
        b.id.slice(0, 16),
        b.kind,
        b.size === null ? '-' : formatBytes(b.size),
        String(b.copies),
        [b.local ? 'this node' : '', ...b.holders.map(h => `${h.nodeId.slice(-8)}${h.online ? (h.confirmed === false ? ' (missing)' : '') : ' (offline)'}`)].filter(x => x !== '').join(', ')
      ])))
    })
}
