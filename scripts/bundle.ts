// The CLI's bundle (part of `npm run build`, after tsc): esbuild turns src/cli/main.ts and the
// worker thread's entry into dist/bundle/, one ES module graph of a few files instead of the
// ~1,100 modules (ours and node_modules') that a node process otherwise resolves and links at
// start-up, which was most of its start-up CPU (docs/PERFORMANCE.md, "The suite, session 5").
// bin/distri-vault.js runs it; dist/cli/main.js (tsc's output) still works the same.
//
// - splitting: each dynamic import (a verb group in src/cli/program.ts, the DHT overlay,
//   prom-client, cli-progress) stays a chunk of its own, loaded only by the command that needs it,
//   so `ls` still loads no libp2p (test/cli/startup-cost.test.ts reads dist/bundle/meta.json).
// - The worker thread's entry is dist/bundle/worker.js, next to the chunks: src/workers/pool.ts
//   finds it as ./worker.js beside itself, and a job kind's module (its import.meta.url) is the
//   chunk that defines it, which shares workers/jobs.ts' registry chunk with worker.js.
// - The job modules (crypto/jobs.ts, store/jobs.ts, files/export-job.ts) are entries of their own,
//   so a worker thread loads only them and what they import (see the entry points below).
// - sodium-native stays a package (a native addon, loaded by createRequire at run time); a CommonJS
//   package's require() of a builtin goes through the createRequire of the banner.
import { build } from 'esbuild'
import { rm, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const OUT = `${ROOT}dist/bundle`

await rm(OUT, { recursive: true, force: true })
const result = await build({
  absWorkingDir: ROOT,
  // The job modules are entries too: a worker imports a job kind's module by its import.meta.url,
  // and merged into the node's chunk that URL made each worker load and run the whole node
  // (fastify, libp2p: ~0.4 CPU-s per worker). As entries, their code sits in small chunks.
  entryPoints: {
    main: 'src/cli/main.ts',
    worker: 'src/workers/worker.ts',
    'jobs-crypto': 'src/crypto/jobs.ts',
    'jobs-store': 'src/store/jobs.ts',
    'jobs-export': 'src/files/export-job.ts'
  },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  external: ['sodium-native'],
  banner: { js: "import { createRequire as __dvCreateRequire } from 'node:module'; const require = __dvCreateRequire(import.meta.url);" },
  chunkNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning'
})
await writeFile(`${OUT}/meta.json`, JSON.stringify(result.metafile))
