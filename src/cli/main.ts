#!/usr/bin/env node
// The `distri-vault` entry point. It turns on Node's on-disk compile cache before anything else
// loads (each CLI command is a new process: the cache saves ~20 ms of parsing per command), then
// runs the program (program.ts).
//
// The one builtin here comes through getBuiltinModule rather than `import` (no ESM facade to build
// before the cache is on). Optional chaining: Node < 22.1 has no compile cache (bin/distri-vault.js
// moves such Nodes to the pinned one anyway, but `node dist/cli/main.js` by hand should still get a
// clear error later), and Node < 22.3 no getBuiltinModule.
process.getBuiltinModule?.('node:module').enableCompileCache?.()
const { main } = await import('./program.ts')
process.exitCode = await main(process.argv)
