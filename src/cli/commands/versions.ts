// `versions NAME` and `prune`: a name's history (every put of a name is a version; 1 = the oldest)
// and the retention policy that drops old versions.
import { type Command, InvalidArgumentError } from 'commander'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { formatBytes, formatTable, printJson, printLine } from '../output.ts'
import type { VersionView, PruneView } from '../../api/index.ts'

interface PruneFlags extends CommonOptions { keepLast?: number, keepDaily?: number, keepWeekly?: number, dryRun?: boolean }

const when = (iso: string): string => iso.slice(0, 19).replace('T', ' ')

function count (text: string): number {
  if (!/^\d{1,7}$/.test(text)) throw new InvalidArgumentError('must be a whole number')
  return Number(text)
}

export function registerVersions (program: Command): void {
  withCommon(program.command('versions'))
    .description('list the versions of a file (1 = the oldest); restore one with "get NAME --version N"')
    .argument('<ref>', 'file name (or the ID of one of its versions)')
    .action(async (ref: string, flags: CommonOptions) => {
      const versions = await (await clientFor(flags)).json<VersionView[]>(`/api/files/${encodeURIComponent(ref)}/versions`)
      if (flags.json === true) { printJson(versions); return }
      printLine(formatTable(['VERSION', 'STORED', 'SIZE', 'MODIFIED', 'ID'],
        versions.map(v => [String(v.version), when(v.ctime), formatBytes(v.size), when(v.mtime), v.id.slice(0, 16)])))
    })

  withCommon(program.command('prune'))
    .description('drop old versions (a version stays if any --keep rule keeps it; the newest always stays) and free their chunks on every holder')
    .argument('[names...]', 'only these names (default: every file)')
    .option('--keep-last <n>', 'keep the newest N versions of each name', count)
    .option('--keep-daily <d>', 'keep the newest version of each of the last D days (UTC) that have versions', count)
    .option('--keep-weekly <w>', 'keep the newest version of each of the last W weeks (UTC) that have versions', count)
    .option('--dry-run', 'print what would be dropped, drop nothing')
    .action(async (names: string[], flags: PruneFlags) => {
      const body = { keepLast: flags.keepLast, keepDaily: flags.keepDaily, keepWeekly: flags.keepWeekly, dryRun: flags.dryRun === true, names }
      const result = await (await clientFor(flags)).json<PruneView>('/api/prune', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
      })
      if (flags.json === true) { printJson(result); return }
      const verb = result.dryRun ? 'would drop' : 'dropped'
      for (const v of result.droppedVersions) printLine(`${verb} ${v.name} version ${v.version} (${when(v.ctime)}, ${formatBytes(v.size)}, ${v.id.slice(0, 16)})`)
      printLine(`${result.dryRun ? 'dry run: ' : ''}${result.kept} version(s) kept, ${result.dropped} ${verb}, ${formatBytes(result.bytesFreed)} ${result.dryRun ? 'would be' : ''} freed`.replace('  ', ' '))
    })
}
