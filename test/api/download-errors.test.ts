// A download that cannot be served: what can be checked before the status (the manifest, the first
// chunk) is answered with a JSON error and a proper status; a chunk that fails later cuts the
// response short of its Content-Length (the client sees an incomplete body, never a clean end),
// and both are counted in /metrics.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { get } from 'node:http'
import { rm } from 'node:fs/promises'
import { pino } from 'pino'
import { startApiServer } from '../../src/api/index.ts'
import { putBytes, startCluster } from '../helpers/cluster.ts'
import { flipByte } from '../helpers/fs.ts'

/** GETs `url` and reads the body to its end or its failure: status, bytes received, how it ended. */
async function download (url: string, headers: Record<string, string>): Promise<{ status: number, type: string, length: number, received: number, clean: boolean, body: Buffer }> {
  return await new Promise((resolve, reject) => {
    get(url, { headers, agent: false }, (res) => {
      const parts: Buffer[] = []
      let received = 0
      res.on('data', (d: Buffer) => { received += d.length; if (parts.length < 4) parts.push(d) })
      const done = (clean: boolean): void => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), length: Number(res.headers['content-length']), received, clean, body: Buffer.concat(parts) })
      res.on('end', () => done(res.complete))
      res.on('error', () => done(false))
      res.on('aborted', () => done(false))
    }).on('error', reject)
  })
}

test('a download whose chunks are damaged or gone answers a JSON error before the status, or is cut off mid-way and counted', async (t) => {
  const cluster = await startCluster(t, 2)
  const [owner] = cluster.nodes
  // The node's API code on a server of its own, whose log the test reads.
  const logged: Array<{ level: number, msg: string }> = []
  const log = pino({ level: 'info' }, { write: (line: string) => { logged.push(JSON.parse(line)) } })
  const api = await startApiServer({ services: owner.services, listen: { host: '127.0.0.1', port: 0 }, token: 't'.repeat(64), log })
  t.after(async () => { await api.close() })
  const url = api.url
  const auth = { authorization: `Bearer ${'t'.repeat(64)}` }
  // One copy only (the owner's): the other node is a peer that answers "not found" for every chunk.
  const chunks = async (name: string): Promise<string[]> => (await owner.vault.open(name)).manifest.chunks.map(c => owner.vault.store.pathOf(owner.nodeId, c.id))
  // Each file its own random bytes, so no chunk is shared (deduplicated) between the cases.
  const files = new Map<string, Buffer>()
  for (const name of ['first-bad.bin', 'first-gone.bin', 'late-bad.bin']) {
    const bytes = randomBytes(10 * 1024 * 1024)
    await putBytes(owner, name, bytes, 1)
    files.set(name, bytes)
  }

  const healthy = await download(`${url}/api/files/late-bad.bin`, auth)
  assert.equal(healthy.status, 200)
  assert.equal(healthy.received, files.get('late-bad.bin')!.length)
  assert.ok(healthy.clean)

  const firstBad = await chunks('first-bad.bin')
  assert.ok(firstBad.length >= 3, `several chunks (${firstBad.length})`)
  await flipByte(firstBad[0], 200)
  const corrupt = await download(`${url}/api/files/first-bad.bin`, auth)
  assert.equal(corrupt.status, 500, corrupt.body.toString())
  assert.equal(JSON.parse(corrupt.body.toString()).error.code, 'CORRUPT')
  assert.match(corrupt.type, /^application\/json/)

  await rm((await chunks('first-gone.bin'))[0])
  const gone = await download(`${url}/api/files/first-gone.bin`, auth)
  assert.equal(gone.status, 503, gone.body.toString())
  assert.equal(JSON.parse(gone.body.toString()).error.code, 'UNAVAILABLE')
  const goneRange = await download(`${url}/api/files/first-gone.bin`, { ...auth, range: 'bytes=0-99' })
  assert.equal(goneRange.status, 503)

  const lateBad = await chunks('late-bad.bin')
  await flipByte(lateBad[lateBad.length - 1], 200)
  const cut = await download(`${url}/api/files/late-bad.bin`, auth)
  assert.equal(cut.status, 200, 'the first chunks were fine: the answer had started')
  assert.equal(cut.length, files.get('late-bad.bin')!.length)
  assert.ok(cut.received < cut.length, `incomplete body: ${cut.received} of ${cut.length}`)
  assert.equal(cut.clean, false, 'the client sees an aborted response, not a clean end')
  assert.ok(cut.body.equals(files.get('late-bad.bin')!.subarray(0, cut.body.length)), 'what arrived is right')

  assert.ok(logged.some(l => l.level === 50 && /mid-stream/.test(l.msg)), 'the cut-off download is logged as an error')
  const metrics = await (await fetch(`${url}/metrics`)).text()
  assert.match(metrics, /^distri_vault_download_failures_total\{stage="before_status"\} 3$/m)
  assert.match(metrics, /^distri_vault_download_failures_total\{stage="mid_stream"\} 1$/m)
  // The node still serves: a healthy file reads back whole.
  const content = randomBytes(3 * 1024 * 1024)
  await putBytes(owner, 'after.bin', content, 1)
  const after = await download(`${url}/api/files/after.bin`, auth)
  assert.equal(after.received, content.length)
  assert.ok(after.clean)
})
