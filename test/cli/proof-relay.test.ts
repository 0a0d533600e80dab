// The node's proof (test/cli/stale-api.test.ts) while the node runs: a process the CLI reaches
// instead of the node can pass the challenge on to the real node, which answers anyone, and hand
// back its proof. How the CLI comes to reach it: `--api localhost:PORT` where localhost is also
// ::1 (Fedora's and macOS's hosts files), another local user holding [::1]:PORT: fastify binds
// 127.0.0.1 and ignores the secondary binding that failed, api.json says http://localhost:PORT and
// the CLI may dial ::1 first. Here api.json names the relay's address outright (this machine's
// localhost is 127.0.0.1 alone). The proof covers the address the node was reached at, so a relayed
// one does not match: NOT_RUNNING, and the relay hears no token, no path and no byte of the body.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect } from 'node:net'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'

test('a relay between the CLI and the running node: its relayed proof is refused and it hears no token', async (t) => {
  const dir = await tempDir(t)
  const node = await startCliNode(join(dir, 'node'))
  t.after(async () => { await node.kill() })
  const { url, token } = JSON.parse(await readFile(join(node.dataDir, 'api.json'), 'utf8')) as { url: string, token: string }

  // A plain TCP relay to the node that keeps whatever the CLI sends it.
  const heard: Buffer[] = []
  const relay = createServer((cli) => {
    const upstream = connect(Number(new URL(url).port), '127.0.0.1')
    cli.on('data', (d: Buffer) => heard.push(d))
    cli.on('error', () => {})
    upstream.on('error', () => cli.destroy())
    cli.pipe(upstream).pipe(cli)
  })
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve))
  t.after(() => { relay.close() })
  const address = relay.address()
  const relayPort = typeof address === 'object' && address !== null ? address.port : 0

  const reached = join(dir, 'reached')
  await mkdir(reached, { mode: 0o700 })
  await writeFile(join(reached, 'api.json'), JSON.stringify({ url: `http://127.0.0.1:${relayPort}`, token }), { mode: 0o600 })
  const put = await runCli(['put', '-', '--name', 'secret-name.txt', '--data', reached], { input: 'the plaintext of a put\n' })
  const ls = await runCli(['ls', '--data', reached])
  for (const run of [put, ls]) {
    assert.equal(run.code, 1, run.stderr)
    assert.match(run.stderr, /^error: .*\(NOT_RUNNING\)\n$/)
  }
  const all = Buffer.concat(heard).toString('latin1')
  assert.ok(all.includes('x-dv-challenge'), 'the CLI did knock')
  assert.equal(all.includes(token), false, 'the relay heard the token')
  assert.equal(all.includes('secret-name'), false, 'the relay heard the file name')
  assert.equal(all.includes('plaintext of a put'), false, 'the relay heard the put\'s bytes')
})
