// `scrub`: verify every blob on this node's disk now and heal what is bad (own copies fetched
// again from holders, copies held for others deleted and reported to their owners).
import type { Command } from 'commander'
import { followPhases } from '../client.ts'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { formatBytes, printJson, printLine } from '../output.ts'
import type { ScrubLine } from '../../api/index.ts'


export function registerScrub (program: Command): void {
  withCommon(program.command('scrub'))
    .description('verify every local chunk now and heal what is bad')
    .action(async (flags: CommonOptions) => {
      const res = await (await clientFor(flags)).send('/api/scrub', { method: 'POST' })
      const tty = process.stderr.isTTY === true && flags.json !== true
      const last = await followPhases<ScrubLine>(res, tty ? (l) => `checking: ${l.checked} blobs, ${formatBytes(l.bytes)}, ${l.bad} bad` : undefined, 'the scrub')
      const { checked, bytes, bad, repaired = 0, reported = 0, failed = 0 } = last
      if (failed > 0) process.stderr.write(`warning: ${failed} damaged blob(s) of this node could not be fetched from any holder; run scrub again when more peers are online\n`)
      if (flags.json === true) { printJson({ checked, bytes, bad, repaired, reported, failed }); return }
      printLine(`checked ${checked} blob(s) (${formatBytes(bytes)}): ${bad} bad, ${repaired} repaired from holders, ${reported} reported to their owners`)
    })
}
