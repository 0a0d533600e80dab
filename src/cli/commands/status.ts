// `status` and `peers`: what the node is, who it talks to, what it holds for whom.
import type { Command } from 'commander'
import type { NodeStatus, PeerStatus } from '../../node/index.ts'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { formatBytes, formatTable, printJson, printLine } from '../output.ts'
import { formatSyncs } from '../sync-text.ts'

export function registerStatus (program: Command): void {
  withCommon(program.command('status'))
    .description('node ID, addresses, peers, files and storage per owner')
    .action(async (flags: CommonOptions) => {
      const status = await (await clientFor(flags)).json<NodeStatus>('/api/status')
      if (flags.json === true) { printJson(status); return }
      printLine(`node      ${status.nodeId}`)
      if (status.duplicateIdentity !== null && status.duplicateIdentity !== undefined) {
        printLine(`WARNING   another node runs with this identity (the same recovery phrase), seen by ${status.duplicateIdentity.reportedBy} connecting from ${status.duplicateIdentity.addresses.join(' ')}: stop one of them`)
      }
      for (const addr of status.addresses) printLine(`address   ${addr}`)
      printLine(`reach     ${status.reachability}`)
      const away = status.peers.filter(p => !p.connected).length
      printLine(`peers     ${status.peers.length - away} connected${pathCounts(status.peers)}${away > 0 ? `, ${away} away` : ''}`)
      printLine(`files     ${status.files}${status.underReplicated > 0 ? ` (${status.underReplicated} under-replicated)` : ''}`)
      const owners = Object.entries(status.storage)
      if (owners.length === 0) printLine('storage   nothing stored yet')
      for (const [owner, bytes] of owners) printLine(`storage   ${formatBytes(bytes).padEnd(10)} for ${owner}${owner === status.nodeId ? ' (this node)' : ''}`)
      const scrub = status.scrub
      printLine(scrub == null ? 'scrub     not run since start' : `scrub     ${scrub.at.slice(0, 19).replace('T', ' ')}: ${scrub.checked} checked, ${scrub.bad} bad, ${scrub.repaired} repaired`)
      const audit = status.audit
      if (audit != null && audit.at !== null) printLine(`audits    ${audit.checked} copies checked, ${audit.proven} proven, ${audit.dropped} dropped (last ${audit.at.slice(0, 19).replace('T', ' ')})`)
      for (const peer of status.peers.filter(p => !p.connected && p.lastError !== undefined)) printLine(`unreached ${describeUnreached(peer)}`)
      if (status.sync !== undefined && status.sync.length > 0) printLine(`sync\n${formatSyncs(status.sync).replace(/^/gm, '  ')}`)
    })

  withCommon(program.command('peers'))
    .description('connected peers (addresses, latency, since when) and known peers that are away')
    .action(async (flags: CommonOptions) => {
      const peers = await (await clientFor(flags)).json<PeerStatus[]>('/api/peers')
      if (flags.json === true) { printJson(peers); return }
      if (peers.length === 0) { printLine('no peers connected (start with --peer HOST:PORT, or --mdns on a LAN)'); return }
      printLine(formatTable(['NODE ID', 'STATE', 'REACH', 'LATENCY', 'SINCE', 'ADDRESSES'],
        peers.map(p => [p.nodeId ?? '(not reached yet)', p.connected ? `connected (${describePath(p)})` : 'away', p.reachability ?? '-', p.latencyMs === null ? '-' : `${p.latencyMs} ms`, p.since.slice(0, 19).replace('T', ' '), p.addresses.join(' ')])))
      const unreached = peers.filter(p => !p.connected && p.lastError !== undefined)
      if (unreached.length > 0) printLine('')
      for (const peer of unreached) printLine(`not connected: ${describeUnreached(peer)}`)
    })
}

/** How we reach a connected peer: through a relay, directly, or directly after hole punching. */
function describePath (peer: PeerStatus): string {
  if (peer.path === 'relayed') return 'relayed'
  return peer.holePunched === true ? 'direct, hole punched' : 'direct'
}

/** ", 1 relayed, 1 hole punched" after the count of connected peers; nothing on a plain LAN. */
function pathCounts (peers: PeerStatus[]): string {
  const connected = peers.filter(p => p.connected)
  const relayed = connected.filter(p => p.path === 'relayed').length
  const punched = connected.filter(p => p.path !== 'relayed' && p.holePunched === true).length
  return `${relayed > 0 ? ` (${relayed} relayed${punched > 0 ? `, ${punched} hole punched` : ''})` : punched > 0 ? ` (${punched} hole punched)` : ''}`
}

/** "ADDRESS-OR-ID: likely cause (last error)", one line per peer we cannot reach. */
function describeUnreached (peer: PeerStatus): string {
  const who = peer.nodeId ?? peer.addresses[0] ?? '?'
  return `${who}${peer.configured === true ? ' (--peer)' : ''}: ${peer.hint !== undefined ? `${peer.hint} (last error: ${peer.lastError})` : `last error: ${peer.lastError}`}`
}
