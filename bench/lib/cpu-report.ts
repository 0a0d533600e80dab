// Preloaded into a child Node process (`node --import <this file> …`) to report the CPU time the
// process used: at exit it writes {"user": s, "system": s} to the file named by BENCH_CPU_REPORT.
import { writeFileSync } from 'node:fs'

const out = process.env.BENCH_CPU_REPORT
if (out !== undefined && out !== '') {
  process.on('exit', () => {
    const usage = process.cpuUsage()
    writeFileSync(out, JSON.stringify({ user: usage.user / 1e6, system: usage.system / 1e6 }))
  })
}
