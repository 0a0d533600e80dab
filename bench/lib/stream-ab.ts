// Levers one at a time, interleaved in the same run: `npx node bench/lib/stream-ab.ts <rounds> <mib> <chunkKiB> 'name:ENV=v,ENV2=v' ...`
// Each config runs once per round after a plain-TCP reference; the best of the rounds is reported.
import { probe, type ProbeResult } from '../stream-probe.ts'
const [rounds, mib, chunkKiB, ...configs] = process.argv.slice(2)
const results = new Map<string, ProbeResult[]>()
const base = { ...process.env }
for (let r = 0; r < Number(rounds); r++) {
  for (const config of ['tcp', ...configs]) {
    const [name, envs = ''] = config.split(':')
    process.env = { ...base }
    for (const kv of envs.split(',').filter(Boolean)) { const [k, v] = kv.split('='); process.env[k] = v }
    const windowKiB = process.env.PROBE_WINDOW_KIB
    const res = await probe({ mode: name === 'tcp' ? 'tcp' : 'stack', bytes: Number(mib) * 1024 * 1024, chunkBytes: Number(process.env.PROBE_CHUNK_KIB ?? chunkKiB) * 1024, windowBytes: windowKiB === undefined ? undefined : Number(windowKiB) * 1024 })
    results.set(name, [...(results.get(name) ?? []), res])
    console.error(name, JSON.stringify(res))
  }
}
const tcp = Math.max(...results.get('tcp')!.map(r => r.MBps))
for (const [name, rs] of results) {
  const best = Math.max(...rs.map(r => r.MBps))
  const med = rs.map(r => r.MBps).sort((a, b) => a - b)[Math.floor(rs.length / 2)]
  const s = Math.min(...rs.map(r => r.senderCpuPerGB)); const rc = Math.min(...rs.map(r => r.receiverCpuPerGB))
  console.log(`${name.padEnd(14)} best ${best.toFixed(1)} MB/s (median ${med.toFixed(1)}) = ${(best / tcp).toFixed(3)}× tcp; CPU-s/GB least: sender ${s.toFixed(2)} receiver ${rc.toFixed(2)}`)
}
