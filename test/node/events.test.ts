// One event bus: the vault publishes what it stored and removed, whatever the entry point, and the
// announcements to the network follow the bus (not the HTTP routes).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { startCluster, putBytes } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/cli.ts'
import type { FileStoredEvent, FileRemovedEvent } from '../../src/events/index.ts'

test('a put, a new version and a prune made through the vault itself are published and announced to the peers', async (t) => {
  const { nodes: [a, b] } = await startCluster(t, 2)
  const stored: FileStoredEvent[] = []
  const removed: FileRemovedEvent[] = []
  a.events.on('file:stored', e => stored.push(e))
  a.events.on('file:removed', e => removed.push(e))
  const heard: string[] = []
  // Only the files' announcements: a's own node-joined/node-left may arrive at any time (late under load).
  b.messenger().onAnnouncement(x => { if (x.from === a.nodeId && x.kind.startsWith('file-')) heard.push(`${x.kind} ${String(x.data.bytes)}`) })

  const first = await putBytes(a, 'notes.txt', randomBytes(1000))
  const second = await putBytes(a, 'notes.txt', randomBytes(2000))
  assert.deepEqual(stored.map(e => [e.id, e.name, e.size, e.kind, e.version]), [[first.id, 'notes.txt', 1000, 'file', 1], [second.id, 'notes.txt', 2000, 'file', 2]])
  const pruned = await a.vault.prune({ keepLast: 1 })
  assert.equal(pruned.dropped, 1)
  assert.deepEqual(removed.map(e => [e.id, e.size]), [[first.id, 1000]])

  await waitFor('b to hear of both puts and the prune', () => heard.length >= 3, { timeoutMs: 15_000 })
  assert.deepEqual(heard.sort(), ['file-removed 1000', 'file-stored 1000', 'file-stored 2000'])
})
