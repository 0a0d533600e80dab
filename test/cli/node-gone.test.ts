// A node that goes away in the middle of a request (killed, crashed) cuts the CLI's connection.
// The CLI says so: TRUNCATED (docs/ERRORS.md, "a transfer ended early"), in words that fit the
// request. Only an upload says "the upload was interrupted; nothing was stored"; a recover, a
// scrub or a listing said it too, though nothing was being uploaded. The node here is a stand-in
// that holds the data dir's token (so it passes the CLI's proof, test/cli/stale-api.test.ts) and
// drops the connection at chosen points, which a real node's SIGKILL cannot hit reliably.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, tempDir } from '../helpers/cli.ts'
import { apiProof } from '../../src/api/proof.ts'

/** A data dir whose api.json names a server that proves itself, then hands real requests to `handle`. */
async function nodeThatDies (t: Parameters<typeof tempDir>[0], handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const data = join(await tempDir(t), 'node')
  await mkdir(data, { recursive: true, mode: 0o700 })
  const token = randomBytes(32).toString('hex')
  const server = createServer((req, res) => {
    const challenge = req.headers['x-dv-challenge']
    if (typeof challenge === 'string') res.setHeader('x-dv-proof', apiProof(token, challenge, req.socket.localAddress, req.socket.localPort))
    if (req.headers.authorization === undefined) { res.writeHead(401).end(); return }
    handle(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  await writeFile(join(data, 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${port}`, token }), { mode: 0o600 })
  return data
}

const GONE = /^error: the node went away before it finished answering \(it stopped or was killed mid-request; see its log\) \(TRUNCATED\)\n$/
const UPLOAD_CUT = /^error: the upload was interrupted; nothing was stored \(TRUNCATED\)\n$/

test('a node gone mid-answer (recover, scrub) or before answering (ls): "the node went away", not "the upload was interrupted"', async (t) => {
  // Progress lines started, then the connection is cut (a node killed during a recover).
  const midAnswer = await nodeThatDies(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' })
    res.write(JSON.stringify({ phase: 'fetching', fetched: 1, found: 9, bytes: 10, peers: 1, failed: 0 }) + '\n')
    setTimeout(() => res.socket?.destroy(), 50)
  })
  for (const verb of ['recover', 'scrub']) {
    const run = await runCli([verb, '--data', midAnswer])
    assert.equal(run.code, 1)
    assert.match(run.stderr, GONE, `${verb}: ${run.stderr}`)
  }
  // The request was read, then the connection closed with no answer at all.
  const noAnswer = await nodeThatDies(t, (req) => { req.socket.destroy() })
  const ls = await runCli(['ls', '--data', noAnswer])
  assert.equal(ls.code, 1)
  assert.match(ls.stderr, GONE)
})

test('a node gone during an upload: "the upload was interrupted; nothing was stored"', async (t) => {
  const data = await nodeThatDies(t, (req) => {
    let seen = 0
    req.on('data', (d: Buffer) => { seen += d.length; if (seen >= 1024 * 1024) req.socket.destroy() })
  })
  const file = join(await tempDir(t), 'big.bin')
  await writeFile(file, randomBytes(8 * 1024 * 1024))
  const run = await runCli(['put', file, '--data', data], { env: { DV_PUT_STREAM: '1' } })
  assert.equal(run.code, 1)
  assert.match(run.stderr, UPLOAD_CUT)
  // The node reading the file itself (a local put: POST /api/files/import), killed midway.
  const reading = await nodeThatDies(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' })
    res.write(JSON.stringify({ progress: 1024 * 1024 }) + '\n')
    setTimeout(() => res.socket?.destroy(), 50)
  })
  const local = await runCli(['put', file, '--data', reading])
  assert.equal(local.code, 1)
  assert.match(local.stderr, UPLOAD_CUT)
})
