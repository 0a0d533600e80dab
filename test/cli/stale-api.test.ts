// A stale api.json (the node was killed with SIGKILL, or the machine rebooted) names an address
// another process may listen on later, perhaps another local user's. The CLI must send that process
// nothing of value (no token, no file bytes, no file name) and believe nothing it answers: it asks
// the process to prove it knows the token first (HMAC of a fresh challenge), and says NOT_RUNNING,
// with the hint to start the node, when the proof is missing or wrong.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { createServer as createNetServer, type Socket } from 'node:net'
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'
import { apiProof } from '../../src/api/proof.ts'

interface Heard { method: string, url: string, headers: IncomingMessage['headers'], body: Buffer }

/** An HTTP server on `port` that records every request and answers each with `answer`. */
async function squatter (port: number, answer: (req: Heard) => { status: number, headers?: Record<string, string>, body: string }): Promise<{ heard: Heard[], server: Server }> {
  const heard: Heard[] = []
  const server = createServer((req, res) => {
    const parts: Buffer[] = []
    req.on('data', (d: Buffer) => parts.push(d))
    req.on('end', () => {
      const h: Heard = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts) }
      heard.push(h)
      const a = answer(h)
      // It answers challenges as another node would (its own token): a proof, but not this node's.
      const challenge = req.headers['x-dv-challenge']
      const proof = typeof challenge === 'string' ? { 'x-dv-proof': apiProof('another node', challenge, req.socket.localAddress, req.socket.localPort) } : {}
      res.writeHead(a.status, { 'content-type': 'application/json', ...proof, ...a.headers }).end(a.body)
    })
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  return { heard, server }
}

test('a stale api.json: the CLI says NOT_RUNNING, and whatever now listens on its port gets no token, no bytes, no name, and cannot forge answers', async (t) => {
  const dir = await tempDir(t)
  const node = await startCliNode(join(dir, 'node'))
  const data = node.dataDir
  t.after(async () => { await node.kill() })
  assert.equal((await runCli(['put', '-', '--name', 'real.txt', '--data', data], { input: 'real\n' })).code, 0)
  const { url, token } = JSON.parse(await readFile(join(data, 'api.json'), 'utf8')) as { url: string, token: string }
  await node.kill()

  // Nothing listens there: NOT_RUNNING with the hint, as when api.json is missing.
  const idle = await runCli(['ls', '--data', data])
  assert.equal(idle.code, 1)
  assert.match(idle.stderr, /^error: .*distri-vault start --data .*\(NOT_RUNNING\)\n$/)

  // Another program takes the port (another user's node, say): it answers like a node refusing the
  // token (which misled as UNAUTHORIZED), or with a forged listing and file bytes given any token.
  const { heard, server } = await squatter(Number(new URL(url).port), (req) => {
    if (req.headers.authorization === undefined) return { status: 401, body: JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'wrong API token (is api.json from this node?)' } }) }
    if (req.url.startsWith('/api/files/forged.txt')) return { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': '7' }, body: 'forged\n' }
    return { status: 200, body: JSON.stringify(req.url.startsWith('/api/files') ? [{ id: 'f'.repeat(16), name: 'forged.txt', size: 7, replicas: 1, createdAt: new Date().toISOString() }] : {}) }
  })
  t.after(() => { server.close() })

  const secret = join(dir, 'secret.txt')
  await writeFile(secret, 'the plaintext of a put\n')
  const runs = [
    await runCli(['ls', '--data', data]),
    await runCli(['status', '--data', data]),
    await runCli(['put', secret, '--name', 'secret-name.txt', '--data', data], { env: { DV_PUT_STREAM: '1' } }),
    await runCli(['put', secret, '--name', 'secret-name.txt', '--data', data]),
    await runCli(['put', '-', '--name', 'secret-name.txt', '--data', data], { input: 'the plaintext of a put\n' }),
    await runCli(['get', 'forged.txt', '-o', join(dir, 'out.txt'), '--data', data]),
    await runCli(['get', 'forged.txt', '-o', '-', '--data', data])
  ]
  for (const run of runs) {
    assert.equal(run.code, 1, run.stderr)
    assert.match(run.stderr, /^error: .*distri-vault start --data .*\(NOT_RUNNING\)\n$/)
    assert.equal(run.stdout, '', 'nothing forged is shown')
  }
  assert.ok(heard.length > 0, 'the CLI did knock')
  for (const h of heard) {
    assert.equal(h.headers.authorization, undefined, `${h.method} ${h.url} carried the token`)
    assert.equal(JSON.stringify(h).includes(token), false)
    assert.equal(h.body.length, 0, `${h.method} ${h.url} carried a body`)
    assert.equal(h.url.includes('secret'), false, `${h.method} ${h.url} named the file`)
  }
  assert.deepEqual((await readdir(dir)).filter(n => n.startsWith('out')), [], 'no forged file was written')
})

test('a port held by something that is not an HTTP node (closes, resets, speaks another protocol, says nothing): NOT_RUNNING with the hint, not TRUNCATED or UNREACHABLE, and no hang', async (t) => {
  const dir = await tempDir(t)
  const behaviours: Record<string, (socket: Socket) => void> = {
    closes: (socket) => { socket.end() },
    resets: (socket) => { socket.resetAndDestroy() },
    'speaks SSH': (socket) => { socket.end('SSH-2.0-OpenSSH_9.6\r\n') },
    'says nothing': () => {}
  }
  for (const [what, behave] of Object.entries(behaviours)) {
    const server = createNetServer((socket) => { socket.on('error', () => {}); behave(socket) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.after(() => { server.close() })
    const address = server.address()
    const data = join(dir, what.replaceAll(' ', '-'))
    await mkdir(data, { mode: 0o700 })
    await writeFile(join(data, 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, token: 'a'.repeat(64) }), { mode: 0o600 })
    const started = Date.now()
    const run = await runCli(['ls', '--data', data], { timeoutMs: 40_000 })
    assert.equal(run.code, 1, `${what}: ${run.stderr}`)
    assert.match(run.stderr, /^error: .*distri-vault start --data .*\(NOT_RUNNING\)\n$/, what)
    assert.ok(Date.now() - started < 30_000, `${what}: took ${Date.now() - started} ms`)
  }
})
