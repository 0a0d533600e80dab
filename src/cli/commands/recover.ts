// `recover`: after `init --recover` on a new disk, pull this owner's blobs back from the peers and
// rebuild the catalog, with progress.
import { type Command, InvalidArgumentError } from 'commander'
import { followPhases } from '../client.ts'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { formatBytes, printJson, printLine } from '../output.ts'
import type { RecoverLine as Progress } from '../../api/index.ts'

function maxListed (text: string): number {
  if (!/^[1-9]\d{0,9}$/.test(text)) throw new InvalidArgumentError('must be a whole number above 0')
  return Number(text)
}

export function registerRecover (program: Command): void {
  withCommon(program.command('recover'))
    .description("pull every blob of this node's owner back from the peers and rebuild the catalog")
    .option('--accept-missing', 'complete even if files the history lists are on no peer (their holder is gone for good): they are dropped from the history')
    .option('--max-listed <n>', 'blob IDs one peer may list before its listing is refused (default 2000000; raise it for a larger vault)', maxListed)
    .action(async (flags: CommonOptions & { acceptMissing?: boolean, maxListed?: number }) => {
      const query = new URLSearchParams()
      if (flags.acceptMissing === true) query.set('acceptMissing', 'true')
      if (flags.maxListed !== undefined) query.set('maxListed', String(flags.maxListed))
      const res = await (await clientFor(flags)).send(query.size > 0 ? `/api/recover?${query}` : '/api/recover', { method: 'POST' })
      const tty = process.stderr.isTTY === true && flags.json !== true
      const last = await followPhases<Progress>(res, tty ? (l) => `${l.phase}: ${l.fetched}/${l.found} blobs, ${formatBytes(l.bytes)} from ${l.peers} peer(s)` : undefined, 'recovery')
      if (flags.json === true) { printJson(last); return }
      printLine(`recovered ${last.files ?? 0} file(s): ${last.fetched} blob(s) pulled back (${formatBytes(last.bytes)}) from ${last.peers} peer(s)`)
      if (last.failed > 0) process.stderr.write(`warning: ${last.failed} blob(s) could not be fetched from any holder; run recover again when more peers are online\n`)
      if ((last.denied ?? 0) > 0) process.stderr.write(`warning: ${last.denied} blob(s) were listed by peers that then did not give them (said they lack them, or sent other bytes): not held, see the node's log\n`)
      if ((last.refused ?? 0) > 0) process.stderr.write(`warning: ${last.refused} peer(s) listed more blobs of ours than a peer may: their listing was refused and nothing was settled; see the node's log for which, and raise --max-listed if the vault is that large\n`)
      if ((last.unreferenced ?? 0) > 0) process.stderr.write(`warning: ${last.unreferenced} blob(s) peers listed are neither our history nor named by our manifests (garbage, or a member's junk): not kept, see the node's log for who listed them\n`)
      if ((last.missing ?? 0) > 0) {
        process.stderr.write(flags.acceptMissing === true
          ? `warning: ${last.missing} file(s) the history lists were on no peer online; dropped from the history (--accept-missing)\n`
          : `warning: ${last.missing} file(s) the history lists were on no peer online (their holders are away); run recover again when more peers are online, or with --accept-missing if they are gone for good\n`)
      }
      if ((last.unseen ?? 0) > 0) {
        process.stderr.write(flags.acceptMissing === true
          ? `warning: ${last.unseen} record(s) of the history (files added or removed) were on no peer online; completed without them (--accept-missing)\n`
          : `warning: ${last.unseen} record(s) of the history (files added or removed) were on no peer online (their holders are away): nothing was settled; run recover again when more peers are online, or with --accept-missing if they are gone for good\n`)
      }
    })
}
