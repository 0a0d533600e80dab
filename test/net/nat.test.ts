// Nodes behind NAT (issue 16), in the lab (test/helpers/netlab.ts): a relay on the "public"
// segment and two homes, each a router that masquerades for one node. The NAT'd nodes cannot dial
// each other's addresses; through the relay they put (with a copy on each other), fetch by
// capability and message each other. a is started with --nat, b finds out by itself (a peer's
// dial back fails). The test reports whether their path ended relayed or direct.
// Needs root: elsewhere it skips, loudly.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { CLI, waitFor } from '../helpers/cli.ts'
import { labUnavailable, NetLab, type LabHost } from '../helpers/netlab.ts'

const step = (what: string): void => { process.stderr.write(`nat.test.ts: ${new Date().toISOString()} ${what}\n`) }

interface LabNode { host: LabHost, dir: string, nodeId: string, stderr: () => string }

const MiB = 1024 * 1024

test('two nodes behind their own NATs store, fetch and message each other through a relay', { timeout: 600_000 }, async (t) => {
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
  const init = async (name: string, host: LabHost): Promise<string> => {
    const dir = `${root}/${name}`
    await cli(host, ['init', '--data', dir, '--json'])
    return dir
  }
  // A node of the relay's network without an `init` process (~2 CPU-s): its network.key copied
  // in; `start` makes the identity on a fresh directory, as joinCliNode does (test/helpers/cli.ts).
  const joinDir = async (name: string, keyFile: string): Promise<string> => {
    const dir = `${root}/${name}`
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await copyFile(keyFile, join(dir, 'network.key'))
    return dir
  }
  // Polls below run a CLI process in the lab each time (~0.5 CPU-s): one a second, not 3-5.
  const start = async (name: string, host: LabHost, dir: string, flags: string[]): Promise<LabNode> => {
    const proc = lab.spawn(host.ns, [process.execPath, CLI, 'start', '--data', dir, '--listen', `${host.ip}:7000`, '--api', '127.0.0.1:0', '--json', '--replicas', '3', ...flags])
    let stdout = ''
    let stderr = ''
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    if (process.env.DV_NAT_LOGS != null) proc.stderr!.pipe(createWriteStream(join(process.env.DV_NAT_LOGS, `${name}.log`)))
    proc.stdout!.on('data', (d: Buffer) => { stdout += d.toString() })
    const ready = await waitFor(`${name} to be ready`, () => {
      const line = stdout.split('\n').find(l => l.includes('"event":"ready"'))
      return line == null ? undefined : JSON.parse(line) as { nodeId: string }
    }, { timeoutMs: 120_000, intervalMs: 100 }).catch(err => { throw new Error(`${(err as Error).message}\n${stderr}`) })
    return { host, dir, nodeId: ready.nodeId, stderr: () => stderr }
  }
  const status = async (node: LabNode): Promise<{ reachability: string, storage: Record<string, number>, peers: Array<{ nodeId: string, connected: boolean, path?: string, reachability?: string, holePunched?: boolean }> }> =>
    JSON.parse(await cli(node.host, ['status', '--data', node.dir, '--json']))
  const logsOf = (...nodes: LabNode[]): string => nodes.map(n => `\n--- ${n.host.ns} ---\n${n.stderr().slice(-3000)}`).join('')
  const put = async (node: LabNode, file: string, extra: string[] = []): Promise<string> =>
    (JSON.parse(await cli(node.host, ['put', file, '--data', node.dir, '--json', ...extra])) as { id: string }).id
  const share = async (node: LabNode, id: string): Promise<string> => (await cli(node.host, ['share', id, '--data', node.dir])).trim()
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
  const figures: string[] = []

  step('lab ready; starting the relay')
  const relayDir = await init('relay', relayHost)
  const keyFile = join(relayDir, 'network.key')
  const [relay, aDir, bDir] = await Promise.all([start('relay', relayHost, relayDir, ['--relay']), joinDir('a', keyFile), joinDir('b', keyFile)])
  step('relay ready; starting a and b behind their NATs')
  const peer = `${relayHost.ip}:7000`
  // a is told it is behind NAT (--nat); b is not (--dht only) and must find out by itself: the
  // relay's dial back fails, so it reserves a relay slot and runs the DHT as a client until then.
  const [a, b] = await Promise.all([start('a', homeA.host, aDir, ['--nat', '--peer', peer]), start('b', homeB.host, bDir, ['--dht', '--peer', peer])])
  const readyAt = Date.now()
  step('a and b ready')
  // Each NAT'd node holds a relay reservation, turns DHT server, and the other finds it.
  await Promise.all([a, b].map(async node =>
    await waitFor(`${node.host.ns} to be reachable through the relay`, async () => (await status(node)).reachability === 'relayed', { timeoutMs: 60_000, intervalMs: 1_000 })))
  figures.push(`both relayed ${Date.now() - readyAt} ms after ready`)
  assert.match(b.stderr(), /peers cannot dial this node/, 'b found out it is behind NAT')
  assert.equal((await status(relay)).reachability, 'public', 'a and b dialled the relay back')
  step('a and b relayed')
  await waitFor('a and b to be connected to each other', async () => {
    const [sa, sb] = await Promise.all([status(a), status(b)])
    return sa.peers.some(p => p.nodeId === b.nodeId && p.connected) && sb.peers.some(p => p.nodeId === a.nodeId && p.connected)
  }, { timeoutMs: 60_000, intervalMs: 1_000 }).catch(err => { throw new Error(`${(err as Error).message}${logsOf(a, b, relay)}`) })
  figures.push(`a and b connected ${Date.now() - readyAt} ms after ready`)
  step('a and b connected')

  // A message crosses both NATs.
  const sentAt = Date.now()
  await cli(a.host, ['msg', 'send', b.nodeId, 'hello across two NATs', '--data', a.dir])
  await waitFor('b to get a\'s message', async () => {
    const history = JSON.parse(await cli(b.host, ['msg', 'history', '--data', b.dir, '--json'])) as Array<{ from: string, text: string }>
    return history.some(m => m.from === a.nodeId && m.text === 'hello across two NATs')
  }, { timeoutMs: 30_000, intervalMs: 1_000 })
  figures.push(`first message a→b ${Date.now() - sentAt} ms (CLI send + history polls included)`)

  // Each puts a file larger than a default relay reservation lets through (128 KiB): three copies
  // in all, so one lands on the other NAT'd node, through the relay.
  const fileA = join(root, 'a.bin')
  const fileB = join(root, 'b.bin')
  const [bytesA, bytesB] = [randomBytes(MiB + 12_345), randomBytes(600 * 1024)]
  await Promise.all([writeFile(fileA, bytesA), writeFile(fileB, bytesB)])
  const [idA] = await Promise.all([put(a, fileA), put(b, fileB)])
  await waitFor('a copy of each file on the other NAT\'d node', async () => {
    const [sa, sb] = await Promise.all([status(a), status(b)])
    return (sb.storage[a.nodeId] ?? 0) >= bytesA.length && (sa.storage[b.nodeId] ?? 0) >= bytesB.length
  }, { timeoutMs: 60_000, intervalMs: 1_000 }).catch(err => { throw new Error(`${(err as Error).message}${logsOf(a, b)}`) })
  step('a copy of each on the other')
  // b reads a's file by capability: its own copy.
  const out = join(root, 'got-a.bin')
  await cli(b.host, ['get', await share(a, idA), '-o', out, '--data', b.dir])
  assert.equal(sha(await readFile(out)), sha(bytesA))

  // A file only its owner holds (--replicas 1): b must fetch every chunk from a, through the
  // relay (or a hole-punched connection); the relay fetches it too, over a's own outbound
  // connection (direct). Same run, same load: the ratio is the figure.
  const big = randomBytes(4 * MiB)
  const bigFile = join(root, 'big.bin')
  await writeFile(bigFile, big)
  const bigCap = await share(a, await put(a, bigFile, ['--replicas', '1']))
  const timedGet = async (node: LabNode, name: string): Promise<number> => {
    const target = join(root, `got-${name}.bin`)
    const t0 = Date.now()
    await cli(node.host, ['get', bigCap, '-o', target, '--data', node.dir])
    const ms = Date.now() - t0
    assert.equal(sha(await readFile(target)), sha(big), `${name} got a's bytes`)
    return ms
  }
  const viaPath = (await status(b)).peers.find(p => p.nodeId === a.nodeId)?.path
  const bMs = await timedGet(b, 'b')
  const relayMs = await timedGet(relay, 'relay')
  figures.push(`get 4 MiB held only by a: b (${viaPath ?? '?'}) ${bMs} ms, relay (direct) ${relayMs} ms (CLI start included)`)

  const [statusA, statusB, statusRelay] = [await status(a), await status(b), await status(relay)]
  const [toB, toA] = [statusA.peers.find(p => p.nodeId === b.nodeId), statusB.peers.find(p => p.nodeId === a.nodeId)]
  const pathAB = toB?.path
  assert.ok(pathAB === 'relayed' || pathAB === 'direct', `a reports its path to b: ${pathAB}`)
  assert.equal(toA?.path, pathAB, 'both ends agree on the path')
  // Direct between two NAT'd nodes only by a hole punch: then each says so.
  if (pathAB === 'direct') assert.deepEqual([toB?.holePunched, toA?.holePunched], [true, true], 'a direct path between them is a hole punch')
  // Per peer, how others reach it: a and b through the relay, the relay directly.
  assert.deepEqual([toB?.reachability, toA?.reachability], ['relayed', 'relayed'], 'each sees the other listens through the relay')
  assert.equal(statusA.peers.find(p => p.nodeId === relay.nodeId)?.reachability, 'public', 'a sees the relay as public')
  const relayView = statusRelay.peers.filter(p => p.nodeId === a.nodeId || p.nodeId === b.nodeId)
  assert.deepEqual(relayView.map(p => p.path), ['direct', 'direct'], 'the relay reaches both over the connections they opened')
  assert.deepEqual(relayView.map(p => p.reachability), ['relayed', 'relayed'], 'the relay sees both listen through it')
  process.stderr.write(`\n*** nat.test.ts: a ↔ b path after the transfers: ${pathAB}; ${figures.join('; ')} ***\n\n`)
})
