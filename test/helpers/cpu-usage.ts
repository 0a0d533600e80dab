// Loaded into every test file's process by `npm run test:timing` (node --import): when the process
// exits, it appends its wall-clock seconds and the CPU-seconds it used, its waited-for children
// included (the CLI processes and nodes a test spawned), to $DV_TEST_CPU_LOG; timing-reporter.ts
// adds them to its table. From /proc/self/stat (utime, stime, cutime, cstime in clock ticks): Node
// reports no children's CPU.
import { appendFileSync, readFileSync } from 'node:fs'
import { relative } from 'node:path'

const log = process.env.DV_TEST_CPU_LOG
const TICKS_PER_SECOND = 100 // USER_HZ: 100 on every Linux Node runs on

/** [own, children] CPU-seconds of this process so far, or undefined where /proc is missing. */
export function cpuSeconds (): [number, number] | undefined {
  let stat: string
  try {
    stat = readFileSync('/proc/self/stat', 'utf8')
  } catch {
    return undefined
  }
  // Fields after the command name (which may hold spaces) start at field 3; utime is field 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
  const [utime, stime, cutime, cstime] = fields.slice(11, 15)
  return [(utime + stime) / TICKS_PER_SECOND, (cutime + cstime) / TICKS_PER_SECOND]
}

const file = process.argv[1]
if (log !== undefined && log !== '' && file !== undefined && file.endsWith('.test.ts')) {
  process.on('exit', () => {
    const cpu = cpuSeconds()
    if (cpu === undefined) return
    appendFileSync(log, `${JSON.stringify({ file: relative(process.cwd(), file), own: cpu[0], children: cpu[1], wall: Math.round(process.uptime() * 10) / 10 })}\n`)
  })
}
