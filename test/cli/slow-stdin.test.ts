// `producer | distri-vault put -` where the producer takes a while before its first byte (a dump,
// an archive of a slow disk). The CLI proves the node on a connection, then sends the put on it
// (test/cli/stale-api.test.ts); a request's headers go out with its first byte of body, so that
// connection sat idle in the node's keep-alive pool, and the node closes idle connections after
// fastify's keepAliveTimeout (72 s): the put failed with "the upload was interrupted" (TRUNCATED)
// though nothing had gone wrong. A stand-in node with a 2 s keep-alive timeout shows it fast.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLI, tempDir } from '../helpers/cli.ts'
import { apiProof } from '../../src/api/proof.ts'

test('put - whose stdin starts after the node\'s keep-alive timeout still stores it', async (t) => {
  const data = join(await tempDir(t), 'node')
  await mkdir(data, { recursive: true, mode: 0o700 })
  const token = randomBytes(32).toString('hex')
  const stored: string[] = []
  const server = createServer({ keepAliveTimeout: 2000 }, (req, res) => {
    const challenge = req.headers['x-dv-challenge']
    if (typeof challenge === 'string') res.setHeader('x-dv-proof', apiProof(token, challenge, req.socket.localAddress, req.socket.localPort))
    if (req.headers.authorization !== `Bearer ${token}`) { res.writeHead(401).end(); return }
    const parts: Buffer[] = []
    req.on('data', (d: Buffer) => parts.push(d))
    req.on('end', () => {
      stored.push(Buffer.concat(parts).toString())
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'a'.repeat(64), name: 'late.txt', size: 5, replicas: 1 }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => { server.closeAllConnections(); server.close() })
  const address = server.address()
  await writeFile(join(data, 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, token }), { mode: 0o600 })

  const child = spawn(process.execPath, [CLI, 'put', '-', '--name', 'late.txt', '--data', data], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  child.stdin.on('error', () => {})
  const late = setTimeout(() => child.stdin.end('late\n'), 3500)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearTimeout(late)
  assert.equal(code, 0, stderr)
  assert.match(stdout, /late\.txt/)
  assert.deepEqual(stored, ['late\n'])
})
