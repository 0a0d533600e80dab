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
import { buildProgram, VERB_GROUPS } from '../../src/cli/program.ts'

const PRELOAD = fileURLToPath(new URL('../helpers/module-trace.ts', import.meta.url))
const DIST = fileURLToPath(new URL('../../dist/', import.meta.url))

/** Builtins (from process.moduleLoadList) no client verb needs: each is ms of start-up. */
const HEAVY_BUILTINS = /^NativeModule (internal\/deps\/undici\/|sqlite$|zlib$|tls$|_tls_|crypto$|internal\/crypto\/|worker_threads$|http2$)/

/** The dist modules outside src/cli/ that the client side may use. */
const CLIENT_SHARED = ['errors.js', 'node/data-dir.js']

async function traceOf (dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string, dist: string[], packages: string[], heavy: string[] }> {
  const out = join(dir, `trace-${args[0]}.json`)
  const run = await runCli(args, { env: { ...env, DV_MODULE_TRACE: out }, nodeArgs: ['--import', PRELOAD] })
  assert.equal(run.code, 0, run.stderr)
  const trace = JSON.parse(await readFile(out, 'utf8')) as ModuleTrace
  const files = trace.urls.filter(u => u.startsWith('file:')).map(u => fileURLToPath(u))
  return {
    stdout: run.stdout,
    dist: files.filter(f => f.startsWith(DIST)).map(f => relative(DIST, f)).sort(),
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
    const outside = trace.dist.filter(f => !f.startsWith('cli/') && !CLIENT_SHARED.includes(f))
    assert.deepEqual(outside, [], `${verb} loaded modules of other subsystems`)
    const commands = trace.dist.filter(f => f.startsWith('cli/commands/'))
    assert.deepEqual(commands, expected[verb], `${verb} loaded other verbs' modules`)
  }
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
