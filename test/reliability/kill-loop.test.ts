// The SIGKILL loop: three node processes put, get and rm files while a random node (owner or
// holder) is killed with SIGKILL and restarted, over and over. Afterwards every put that was
// acknowledged reads back byte-identical, every rm that was acknowledged stays gone, and an
// owner that then loses its whole disk gets back exactly its files with `recover`: nothing
// acknowledged lost, nothing deleted back. DV_KILL_FAULTS sets the number of SIGKILLs (a short
// run in `npm test`, 200+ in `npm run reliability`), DV_KILL_MAX_BYTES the largest file put (1 MiB
// in `npm test`: several chunks already, each with its own replication; 3 MiB in the soak).
// Where `npm test`'s instance spends its CPU: node starts (~2 CPU-s each: 3, one per fault, one
// restored), CLI verbs (~0.4 each: 6 per round plus the checks) and the bytes put and replicated.
// The final check reads every file once through the node's HTTP API (one `ls` and one `get` per
// owner through the CLI): the CLI under faults is what the loop itself exercises.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { rm, writeFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { apiBytes } from '../helpers/api-bytes.ts'
import { runCli, startCliNode, joinCliNode, hostPort, waitFor, tempDir, connectedPeers, apiJson, type CliNode } from '../helpers/cli.ts'

const FAULTS = Number(process.env.DV_KILL_FAULTS ?? 3)
const MAX_BYTES = Number(process.env.DV_KILL_MAX_BYTES ?? 1024 * 1024)

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** What the test knows of one name: acknowledged present (with its hash), acknowledged gone, or either. */
type Known = { state: 'present', sha: string } | { state: 'absent' } | { state: 'unknown', sha: string }

interface Owner { dir: string, node: CliNode, files: Map<string, Known>, epoch: number }

test(`SIGKILL loop (${FAULTS} faults): every acknowledged put reads back, every acknowledged rm stays gone, also after recover`, { timeout: 60 * 60_000 }, async (t) => {
  const root = await tempDir(t)
  const owners: Owner[] = []
  t.after(async () => { await Promise.all(owners.map(async o => await o.node.kill())) })
  const init = await runCli(['init', '--data', join(root, 'n0'), '--json'])
  const phrase = JSON.parse(init.stdout).phrase as string
  const first = await startCliNode(join(root, 'n0'))
  owners.push({ dir: first.dataDir, node: first, files: new Map(), epoch: 0 })
  for (const name of ['n1', 'n2']) {
    const node = await joinCliNode(join(root, name), first)
    owners.push({ dir: node.dataDir, node, files: new Map(), epoch: 0 })
  }
  await waitForPeers(owners, 2)
  const stats = { faults: 0, puts: 0, putsAcked: 0, gets: 0, getsChecked: 0, rms: 0, rmsAcked: 0 }
  let seq = 0

  const operate = async (o: Owner): Promise<void> => {
    const epoch = o.epoch
    const present = [...o.files].filter(([, k]) => k.state === 'present')
    const roll = Math.random()
    if (roll < 0.55 || present.length === 0) {
      const name = `f${seq++}.bin`
      const bytes = randomBytes(randomInt(1, MAX_BYTES))
      const path = join(root, `${name}.src`)
      await writeFile(path, bytes)
      stats.puts++
      o.files.set(name, { state: 'unknown', sha: sha(bytes) })
      const put = await runCli(['put', path, '--name', name, '--data', o.dir, '--json'], { timeoutMs: 120_000 })
      await rm(path, { force: true })
      if (put.code === 0) { stats.putsAcked++; o.files.set(name, { state: 'present', sha: sha(bytes) }) }
    } else if (roll < 0.8) {
      const [name, known] = present[randomInt(present.length)]
      stats.gets++
      const got = await runCli(['get', name, '-o', '-', '--data', o.dir], { timeoutMs: 120_000 })
      if (got.code === 0) {
        stats.getsChecked++
        assert.equal(sha(got.stdoutBytes), (known as { sha: string }).sha, `${name} read back different bytes`)
      } else if (o.epoch === epoch && isAlive(o.node)) {
        assert.fail(`get ${name} failed while its owner ran: ${got.stderr}`)
      }
    } else {
      const [name, known] = present[randomInt(present.length)]
      stats.rms++
      o.files.set(name, { state: 'unknown', sha: (known as { sha: string }).sha })
      const removed = await runCli(['rm', name, '--data', o.dir], { timeoutMs: 120_000 })
      if (removed.code === 0) { stats.rmsAcked++; o.files.set(name, { state: 'absent' }) }
    }
  }

  while (stats.faults < FAULTS) {
    // A few operations on every node at once, and a SIGKILL somewhere in the middle of them.
    const work = Promise.all(owners.map(async o => { for (let i = 0; i < 2; i++) await operate(o) }))
    await new Promise((resolve) => setTimeout(resolve, randomInt(50, 800)))
    const victim = owners[randomInt(owners.length)]
    victim.epoch++
    await victim.node.kill()
    stats.faults++
    await work
    // Back on its own port, as a node on its fixed --listen port comes back, knowing the others'
    // addresses. On a new port (port 0) with one peer's address, the loop could partition the
    // network for good: that peer killed in the next round before the restarted node had learned
    // of the third, and nobody left who knew where it listens now (CI failed so once).
    const others = owners.filter(o => o !== victim).flatMap(o => ['--peer', hostPort(o.node.p2p)])
    victim.node = await startCliNode(victim.dir, ['--listen', hostPort(victim.node.p2p), ...others])
      .catch(async () => await startCliNode(victim.dir, others)) // its port taken meanwhile: any port
    victim.epoch++
  }
  await waitForPeers(owners, 2)
  t.diagnostic(JSON.stringify(stats))

  for (const o of owners) await checkFiles(o, root)

  // Node 0 loses its disk; the phrase and `recover` must bring back exactly its files.
  const lost = owners[0]
  await lost.node.stop()
  const keyCopy = await readFile(join(owners[1].dir, 'network.key'))
  await rm(lost.dir, { recursive: true, force: true })
  await writeFile(join(root, 'network.key'), keyCopy)
  lost.dir = join(root, 'n0-restored')
  const restored = await runCli(['init', '--recover', '--data', lost.dir, '--join', join(root, 'network.key'), '--json'], { input: phrase })
  assert.equal(restored.code, 0, restored.stderr)
  lost.node = await startCliNode(lost.dir, ['--peer', hostPort(owners[1].node.p2p)])
  await waitForPeers([lost], 2, owners)
  const recovered = await runCli(['recover', '--data', lost.dir, '--json'], { timeoutMs: 300_000 })
  assert.equal(recovered.code, 0, recovered.stderr)
  await checkFiles(lost, root)
})

function isAlive (node: CliNode): boolean {
  return node.proc.exitCode === null && node.proc.signalCode === null
}

async function waitForPeers (owners: Owner[], count: number, all: Owner[] = owners): Promise<void> {
  for (const o of owners) {
    try {
      await waitFor(`${o.dir} to see ${count} peers`, async () => await connectedPeers(o.dir) >= count, { timeoutMs: 60_000, intervalMs: 100 })
    } catch (err) {
      // Say why: what every node sees, whom it is redialling and why that fails, its last log lines.
      const seen = await Promise.all(all.map(async n => {
        const peers = await apiJson(n.dir, '/api/peers').catch((e: Error) => e.message)
        const status = await apiJson(n.dir, '/api/status').catch((e: Error) => e.message)
        return `${n.dir} (${n.node.p2p}, alive ${isAlive(n.node)}):\n  peers ${JSON.stringify(peers)}\n  status.peers ${JSON.stringify(status?.peers ?? status)}\n  log tail ${n.node.stderr().split('\n').slice(-15).join('\n    ')}`
      }))
      throw new Error(`${(err as Error).message}\n${seen.join('\n')}`)
    }
  }
}

/** Every acknowledged file is listed and reads back identical; nothing acknowledged as removed is listed. */
async function checkFiles (o: Owner, root: string): Promise<void> {
  const ls = await runCli(['ls', '--data', o.dir, '--json'])
  assert.equal(ls.code, 0, ls.stderr)
  const listed = new Map((JSON.parse(ls.stdout) as Array<{ name: string }>).map(f => [f.name, f]))
  let viaCli = false
  for (const [name, known] of o.files) {
    if (known.state === 'absent') {
      assert.equal(listed.has(name), false, `${name} was removed (acknowledged) but is listed on ${o.dir}`)
      continue
    }
    if (known.state === 'unknown' && !listed.has(name)) continue
    assert.ok(listed.has(name), `${name} was stored (acknowledged) but is not listed on ${o.dir}`)
    if (!viaCli) {
      const out = join(root, 'check.out')
      const got = await runCli(['get', name, '-o', out, '--data', o.dir], { timeoutMs: 120_000 })
      assert.equal(got.code, 0, `get ${name}: ${got.stderr}`)
      assert.equal(sha(await readFile(out)), known.sha, `${name} reads back different bytes`)
      await rm(out, { force: true })
      viaCli = true
      continue
    }
    const got = await apiBytes(o.dir, `/api/files/${encodeURIComponent(name)}`)
    assert.equal(got.status, 200, `get ${name}: ${got.body.toString('utf8')}`)
    assert.equal(sha(got.body), known.sha, `${name} reads back different bytes`)
  }
  for (const name of listed.keys()) assert.ok(o.files.has(name), `${name} is listed but was never put`)
}
