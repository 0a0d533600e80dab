#!/usr/bin/env node
// The `distri-vault` entry point. It turns on Node's on-disk compile cache before anything else
// loads (each CLI command is a new process: the cache saves ~20 ms of parsing per command), then
// runs the program (program.ts).
import { enableCompileCache } from 'node:module'

enableCompileCache()
const { main } = await import('./program.ts')
process.exitCode = await main(process.argv)
