// A hostile member of the network (it holds the network key, so it gets past the handshake):
// it damages what it holds (wrong bytes), claims blobs it threw away (a false "I have it"), writes
// into another owner's folder, floods a holder with PUT streams it never finishes, and floods the
// owner with messages. Each is detected or refused, and counted in the victim's /metrics; the
// owner's files stay whole and at their copy target on the honest nodes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes, createHash } from 'node:crypto'
import { unlink } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { startCluster, putBytes, readBytes } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/cli.ts'
import { flipByte } from '../helpers/fs.ts'
import { VaultError } from '../../src/errors.ts'
import { FrameStream } from '../../src/protocols/index.ts'
import { BLOCK_PROTOCOL, MAX_BLOB_BYTES } from '../../src/replication/index.ts'
import type { VaultNode } from '../../src/index.ts'

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** The node's Prometheus text, scraped as Prometheus would (no token). */
async function metrics (node: VaultNode): Promise<string> {
  const res = await fetch(`${node.apiUrl}/metrics`)
  assert.equal(res.status, 200)
  return await res.text()
}

function metric (text: string, name: string, label: string): number {
  const line = text.split('\n').find(l => l.startsWith(`${name}{${label}}`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

test('a hostile member is detected, refused and counted in /metrics, and costs the owner no data', { timeout: 180_000 }, async (t) => {
  const cluster = await startCluster(t, 3, { auditEverySeconds: 2, messageBurst: 20, messageRatePerSecond: 5, inboundBufferPerPeerBytes: 3 * 1024 * 1024 })
  const [owner, honest, hostile] = cluster.nodes
  const one = randomBytes(3 * 1024 * 1024)
  const two = randomBytes(3 * 1024 * 1024)
  await putBytes(owner, 'one.bin', one, 3)
  await putBytes(owner, 'two.bin', two, 3)

  // 1. Wrong bytes and 2. a false "I have it": one held blob damaged, another deleted while the
  // hostile store still claims to have everything.
  const held: string[] = []
  for await (const id of hostile.vault.store.list(owner.nodeId)) held.push(id)
  assert.ok(held.length >= 2)
  await flipByte(hostile.vault.store.pathOf(owner.nodeId, held[0]), 40)
  await unlink(hostile.vault.store.pathOf(owner.nodeId, held[1]))
  hostile.vault.store.has = async () => true
  await waitFor('the owner to count the hostile holder\'s faults', async () => {
    const m = await metrics(owner)
    return metric(m, 'distri_vault_holder_faults_total', 'kind="wrong"') + metric(m, 'distri_vault_holder_faults_total', 'kind="missing"') >= 2
  }, { timeoutMs: 60_000, intervalMs: 250 })

  // 3. Writes into another owner's folder on the honest node: refused, nothing written.
  const before = honest.vault.store.usage()[owner.nodeId]
  const forged = randomBytes(1024)
  const refused = await hostile.networking!.client.putBlob(honest.nodeId, owner.nodeId, sha(forged), forged).then(() => undefined, (err: unknown) => err)
  assert.ok(refused instanceof VaultError && refused.code === 'FORBIDDEN', String(refused))
  assert.equal(honest.vault.store.usage()[owner.nodeId], before)

  // 4. PUT streams that never finish: past its share the hostile member gets BUSY.
  const pinned: FrameStream[] = []
  for (let i = 0; i < 6; i++) {
    const body = randomBytes(1024 * 1024)
    const stream = await hostile.networking!.network.libp2p.dialProtocol(peerIdFromString(honest.nodeId), BLOCK_PROTOCOL)
    const frames = new FrameStream(stream, { maxFrameBytes: MAX_BLOB_BYTES })
    await frames.writeJson({ op: 'put', owner: hostile.nodeId, id: sha(body), size: body.length })
    const header = new Uint8Array(4)
    new DataView(header.buffer).setUint32(0, body.length)
    stream.send(header)
    stream.send(body.subarray(0, body.length - 1))
    pinned.push(frames)
  }
  const extra = randomBytes(1024 * 1024)
  const busy = await hostile.networking!.client.putBlob(honest.nodeId, hostile.nodeId, sha(extra), extra).then(() => undefined, (err: unknown) => err)
  assert.ok(busy instanceof VaultError && busy.code === 'BUSY', String(busy))

  // 5. A message flood at the owner, while the honest node talks to it too.
  const got: string[] = []
  const off = owner.messenger().subscribe((m) => got.push(m.text))
  for (let i = 0; i < 100; i++) await hostile.messenger().send(owner.nodeId, `spam ${i}`).catch(() => {})
  await honest.messenger().send(owner.nodeId, 'honest words')
  await waitFor('the honest message', () => got.includes('honest words'))
  off()
  assert.ok(got.filter(m => m.startsWith('spam')).length < 100)

  const atOwner = await metrics(owner)
  const atHonest = await metrics(honest)
  assert.ok(metric(atHonest, 'distri_vault_block_refusals', 'code="FORBIDDEN"') >= 1, 'the forged write is counted')
  assert.ok(metric(atHonest, 'distri_vault_block_refusals', 'code="BUSY"') >= 1, 'the PUT flood is counted')
  assert.ok(metric(atOwner, 'distri_vault_messages_dropped', 'reason="rateLimited"') >= 1, 'the message flood is counted')
  for (const frames of pinned) frames.abort(new Error('done'))

  // The owner's files: whole, and back at 3 copies once repair placed them away from the faults.
  assert.equal(sha(await readBytes(owner, 'one.bin')), sha(one))
  assert.equal(sha(await readBytes(owner, 'two.bin')), sha(two))
  await waitFor('every file back at its target', () => owner.vault.list().every(f => f.replicas === 3), { timeoutMs: 60_000, intervalMs: 250 })
  t.diagnostic(`owner metrics: faults wrong=${metric(atOwner, 'distri_vault_holder_faults_total', 'kind="wrong"')} missing=${metric(atOwner, 'distri_vault_holder_faults_total', 'kind="missing"')}, rateLimited=${metric(atOwner, 'distri_vault_messages_dropped', 'reason="rateLimited"')}`)
})
