// Fuzz loop against a running node: a member of the network opens streams on every distri-vault
// protocol and sends junk (raw bytes, frames of any JSON, near-valid requests, frames cut short);
// a local client sends the HTTP API random methods, paths, queries and bodies with a valid token.
// Afterwards the node still serves: its files read back byte-identical, a put replicates, a
// message arrives, and no API answer was a 5xx. DV_FUZZ_RUNS scales the loop.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { startCluster, putBytes, readBytes } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/cli.ts'
import { BLOCK_PROTOCOL } from '../../src/replication/block-protocol.ts'
import { PEX_PROTOCOL, MSG_PROTOCOL, ANNOUNCE_PROTOCOL } from '../../src/protocols/index.ts'

const RUNS = Number(process.env.DV_FUZZ_RUNS ?? 300)
const PROTOCOLS = [BLOCK_PROTOCOL, PEX_PROTOCOL, MSG_PROTOCOL, ANNOUNCE_PROTOCOL]

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/)

function frame (payload: Uint8Array, claimed = payload.byteLength): Uint8Array {
  const out = new Uint8Array(4 + payload.byteLength)
  new DataView(out.buffer).setUint32(0, claimed >>> 0)
  out.set(payload, 4)
  return out
}

/** What a hostile member writes on one stream. */
function junkStream (victim: string): fc.Arbitrary<Uint8Array[]> {
  const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v) ?? 'null')
  const nearValid = fc.oneof(
    fc.record({ op: fc.constantFrom('put', 'get', 'delete', 'has', 'list', 'nope'), owner: fc.constantFrom(victim, '../..', 'x'.repeat(90)), id: hex64, ids: fc.array(hex64, { maxLength: 3 }), size: fc.integer({ min: -1, max: 5_000_000 }) }),
    fc.record({ peers: fc.array(fc.record({ id: fc.string(), addrs: fc.array(fc.string({ maxLength: 300 }), { maxLength: 10 }) }), { maxLength: 5 }) }),
    fc.record({ type: fc.constantFrom('msg', 'announce'), hops: fc.integer({ min: -1, max: 99 }), message: fc.jsonValue() }),
    fc.record({ id: fc.string(), from: fc.string(), to: fc.constantFrom(victim, '*'), text: fc.string(), at: fc.string(), sig: fc.string() })
  )
  return fc.oneof(
    fc.array(fc.uint8Array({ maxLength: 256 }), { maxLength: 3 }),
    fc.array(fc.jsonValue().map(v => frame(json(v))), { minLength: 1, maxLength: 3 }),
    fc.array(nearValid.map(v => frame(json(v))), { minLength: 1, maxLength: 3 }),
    // A header that promises more than follows, or more than any limit allows.
    fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(0xffffffff, 5_000_000, 1024)).map(([p, claimed]) => [frame(p, claimed)])
  )
}

test('fuzz: junk from a member on every protocol and junk on the API cost a node nothing', async (t) => {
  const cluster = await startCluster(t, 3)
  const [victim, attacker, third] = cluster.nodes
  const original = randomBytes(3 * 1024 * 1024)
  await putBytes(victim, 'kept.bin', original, 3)
  const libp2p = attacker.networking!.network.libp2p
  const victimPeer = libp2p.getConnections().find(c => c.remotePeer.toString() === victim.nodeId)!.remotePeer

  let streams = 0
  await fc.assert(fc.asyncProperty(fc.constantFrom(...PROTOCOLS), junkStream(victim.nodeId), fc.boolean(), async (protocol, writes, reset) => {
    let stream
    try {
      stream = await libp2p.dialProtocol(victimPeer, protocol, { signal: AbortSignal.timeout(3000) })
    } catch {
      return // the victim may refuse streams while it sheds an earlier one: that is its right
    }
    streams++
    try {
      for (const bytes of writes) if (bytes.byteLength > 0) stream.send(bytes)
      if (reset) stream.abort(new Error('fuzz reset'))
      else await stream.close({ signal: AbortSignal.timeout(3000) })
    } catch {}
  }), { numRuns: RUNS })
  assert.ok(streams > RUNS / 2, `only ${streams} of ${RUNS} streams opened`)

  // The API, with the right token: random methods, paths, queries and bodies.
  const api = JSON.parse(await readFile(join(victim.paths.root, 'api.json'), 'utf8')) as { url: string, token: string }
  const statuses = new Map<number, number>()
  const segment = fc.oneof(fc.constantFrom('api', 'files', 'messages', 'status', 'peers', 'recover', 'import', 'export', 'info', 'share', 'health', 'events', 'metrics', 'kept.bin', '..', '%2e%2e', '%00', 'dv1.x.y.z'), fc.string({ maxLength: 12 }).map(encodeURIComponent))
  const randomPath = fc.array(segment, { minLength: 1, maxLength: 5 }).map(parts => '/' + parts.join('/'))
  // Mostly the real routes with fuzzed parameters: that is where a handler can be reached.
  const ref = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('kept.bin', 'dv1.' + 'a'.repeat(64) + '.x.y', 'deadbeef'), hex64).map(encodeURIComponent)
  const routePath = fc.oneof(
    fc.constantFrom('/api/files', '/api/files/import', '/api/status', '/api/peers', '/api/messages', '/metrics'),
    fc.tuple(ref, fc.constantFrom('', '/info', '/share', '/health')).map(([r, tail]) => `/api/files/${r}${tail}`)
  )
  const path = fc.oneof({ arbitrary: routePath, weight: 3 }, { arbitrary: randomPath, weight: 1 })
  const query = fc.option(fc.dictionary(fc.constantFrom('name', 'replicas', 'mtime', 'limit', 'x'), fc.string({ maxLength: 20 }), { maxKeys: 3 }), { nil: undefined })
  const body = fc.option(fc.oneof(fc.jsonValue().map(v => JSON.stringify(v) ?? ''), fc.string({ maxLength: 200 })), { nil: undefined })
  await fc.assert(fc.asyncProperty(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH'), path, query, body, fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'), async (method, p, q, b, type) => {
    // Never a delete of the one file we check afterwards, never an export that writes outside a scratch folder.
    if (method === 'DELETE' && p.includes('kept.bin')) return
    if (p.includes('export') || p.includes('recover')) return
    const url = `${api.url}${p}${q === undefined ? '' : '?' + new URLSearchParams(q).toString()}`
    const res = await fetch(url, { method, headers: { authorization: `Bearer ${api.token}`, 'content-type': type }, body: method === 'GET' ? undefined : b, signal: AbortSignal.timeout(10_000) })
    await res.arrayBuffer().catch(() => {})
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    assert.ok(res.status < 500, `${method} ${url} answered ${res.status}`)
  }), { numRuns: RUNS })

  // Still whole: the file reads back, a new put replicates to the attacker too, messages flow.
  assert.ok((await readBytes(victim, 'kept.bin')).equals(original))
  const again = randomBytes(512 * 1024)
  const put = await putBytes(victim, 'after.bin', again, 3)
  assert.equal(put.replicas, 3)
  const got: string[] = []
  const off = third.messenger().subscribe((m) => got.push(m.text))
  await victim.messenger().send(third.nodeId, 'still standing')
  await waitFor('the message after the fuzz', () => got.includes('still standing'))
  off()
  t.diagnostic(`streams ${streams}, API statuses ${JSON.stringify(Object.fromEntries(statuses))}`)
})
