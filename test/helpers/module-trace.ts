// A preload (`node --import ./module-trace.ts`) that records what a process loads, for tests of a
// command's start-up cost: every ES module and CommonJS file it loads (a module hook) and the
// builtins Node loaded (process.moduleLoadList, which also shows those a builtin pulls in itself,
// such as undici behind node:http's fetch getters). Written as JSON to $DV_MODULE_TRACE at exit.
import { registerHooks } from 'node:module'
import { writeFileSync } from 'node:fs'

export interface ModuleTrace { urls: string[], builtins: string[] }

const out = process.env.DV_MODULE_TRACE
const urls: string[] = []
registerHooks({
  load (url, context, nextLoad) {
    urls.push(url)
    return nextLoad(url, context)
  }
})
process.on('exit', () => {
  if (out !== undefined) writeFileSync(out, JSON.stringify({ urls, builtins: process.moduleLoadList } satisfies ModuleTrace))
})
