// What a one-shot command loads before it answers. `ls` and `status` run as a new process each
// time, so every module they load is start-up cost on every command (docs/PERFORMANCE.md, command
// latency): they must not pull in the node's own stack (libp2p, fastify, SQLite, zod, pino),
// undici (what `import 'node:http'` costs through its fetch getters), webcrypto or zlib, nor
// another verb's module. Asserted on the list of modules, not on a time that flakes under load.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'
import type { ModuleTrace } from '../helpers/module-trace.ts'
import { loadedSources, ROOT } from '../helpers/bundle-sources.ts'
import { buildProgram, VERB_GROUPS } from '../../src/cli/program.ts'

const PRELOAD = fileURLToPath(new URL('../helpers/module-trace.ts', import.meta.url))

/**
 * Builtins (from process.moduleLoadList) no client verb needs: each is ms of start-up. node:crypto
 * itself is needed (the HMAC that proves the node before the token goes out, cli/client.ts: ~7 ms
 * of CPU), webcrypto is not.
 */
const HEAVY_BUILTINS = /^NativeModule (internal\/deps\/undici\/|sqlite$|zlib$|tls$|_tls_|internal\/crypto\/webcrypto|internal\/crypto\/webidl|worker_threads$|http2$)/

/** The modules outside src/cli/ that the client side may use (paths under src/, as .js). */
const CLIENT_SHARED = ['errors.js', 'node/data-dir.js', 'api/proof-words.js']

async function traceOf (dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string, src: string[], packages: string[], heavy: string[] }> {
  const out = join(dir, `trace-${args[0]}.json`)
  const run = await runCli(args, { env: { ...env, DV_MODULE_TRACE: out }, nodeArgs: ['--import', PRELOAD] })
  assert.equal(run.code, 0, run.stderr)
  const trace = JSON.parse(await readFile(out, 'utf8')) as ModuleTrace
  // The CLI is a bundle: its chunks' sources say what was loaded (bundle-sources.ts).
  const files = await loadedSources(trace.urls)
  const SRC = join(ROOT, 'src') + '/'
  return {
    stdout: run.stdout,
    src: [...new Set(files.filter(f => f.startsWith(SRC)).map(f => relative(SRC, f).replace(/\.ts$/, '.js')))].sort(),
    packages: [...new Set(files.map(f => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter(p => p !== undefined))].sort(),
    heavy: trace.builtins.filter(m => HEAVY_BUILTINS.test(m))
  }
}

test('ls and status against a running node load only the CLI client: no libp2p, SQLite, zod, pino, undici, nor other verbs', async (t) => {
  const dir = await tempDir(t)
  const node = await startCliNode(join(dir, 'node'))
  t.after(async () => { await node.stop() })
  const env = { DV_DATA: node.dataDir }
  await writeFile(join(dir, 'a.txt'), 'listed\n')
  assert.equal((await runCli(['put', join(dir, 'a.txt')], { env })).code, 0)

  const expected: Record<string, string[]> = { ls: ['cli/commands/catalog.js'], status: ['cli/commands/status.js'] }
  for (const verb of ['ls', 'status']) {
    const trace = await traceOf(dir, [verb], env)
    if (verb === 'ls') assert.match(trace.stdout, /a\.txt/)
    else assert.match(trace.stdout, new RegExp(`node +${node.nodeId}`))
    assert.deepEqual(trace.packages, ['commander'], `${verb} loaded packages ${trace.packages.join(', ')}`)
    assert.deepEqual(trace.heavy, [], `${verb} loaded heavy builtins`)
    const outside = trace.src.filter(f => !f.startsWith('cli/') && !CLIENT_SHARED.includes(f))
    assert.deepEqual(outside, [], `${verb} loaded modules of other subsystems`)
    const commands = trace.src.filter(f => f.startsWith('cli/commands/'))
    assert.deepEqual(commands, expected[verb], `${verb} loaded other verbs' modules`)
  }
})

test('put loads the CLI client and a few leaf modules: no libp2p, fastify, SQLite, pino (its shortfall words once pulled in api/index.ts)', async (t) => {
  const dir = await tempDir(t)
  const node = await startCliNode(join(dir, 'node'))
  t.after(async () => { await node.stop() })
  await writeFile(join(dir, 'b.txt'), 'put\n')
  const trace = await traceOf(dir, ['put', join(dir, 'b.txt')], { DV_DATA: node.dataDir })
  assert.match(trace.stdout, /[0-9a-f]{16}/)
  // zod: the file name's check (files/manifest.ts, imported when put is given a file).
  assert.deepEqual(trace.packages, ['commander', 'zod'], `put loaded packages ${trace.packages.join(', ')}`)
  const PUT_SHARED = ['api/shortfall-words.js', 'node/flags.js', 'redundancy/index.js', 'redundancy/policy.js', 'files/manifest.js', 'ids/index.js', 'ids/ids.js']
  const outside = trace.src.filter(f => !f.startsWith('cli/') && !CLIENT_SHARED.includes(f) && !PUT_SHARED.includes(f))
  assert.deepEqual(outside, [], 'put loaded modules of other subsystems')
  assert.deepEqual(trace.src.filter(f => f.startsWith('cli/commands/')), ['cli/commands/put.js'], 'put loaded other verbs\' modules')
})

test('init loads its own module, the identity and the network key: no libp2p, fastify, SQLite, pino (it loaded the whole node: ~0.3 CPU-s more per init)', async (t) => {
  const dir = await tempDir(t)
  const trace = await traceOf(dir, ['init', '--data', join(dir, 'fresh'), '--json'], {})
  assert.match(JSON.parse(trace.stdout).nodeId, /^12D3KooW/)
  const heavy = trace.packages.filter(p => /^(@libp2p\/(?!crypto$|peer-id$|pnet$|interface$|utils$)|libp2p$|fastify|pino|@chainsafe\/)/.test(p))
  assert.deepEqual(heavy, [], `init loaded packages ${trace.packages.join(', ')}`)
  assert.ok(!trace.heavy.some(m => m === 'NativeModule sqlite'), 'init loaded SQLite')
  assert.deepEqual(trace.src.filter(f => f.startsWith('net/')), ['net/swarm-key.js'], 'init loaded the network subsystem')
})

test('each verb group registers exactly the verbs it is listed with, in the order --help shows', async () => {
  const all = await buildProgram()
  assert.deepEqual(all.commands.map(c => c.name()), VERB_GROUPS.flatMap(g => g.verbs))
  for (const group of VERB_GROUPS) {
    const one = await buildProgram([group])
    assert.deepEqual(one.commands.map(c => c.name()), group.verbs)
    // A verb's own help reads the same whether the others are registered or not.
    for (const verb of group.verbs) {
      const alone = one.commands.find(c => c.name() === verb)!
      const among = all.commands.find(c => c.name() === verb)!
      assert.equal(alone.helpInformation(), among.helpInformation())
    }
  }
})
