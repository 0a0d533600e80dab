const mods = process.argv.slice(2)
for (const m of mods) {
const c = process.cpuUsage(); const t = performance.now()
await import(m)
const u = process.cpuUsage(c)
console.log(m, Math.round(performance.now() - t), Math.round((u.user + u.system)/1000))
}
