// A node without --dht loads none of the overlay's packages (kad-dht, gossipsub, the circuit
// relay, dcutr, AutoNAT, bootstrap, mDNS): they are a third of the modules a node loads, and a
// LAN-mesh node (every test node, most users) pays their start-up for nothing. A node with --dht
// loads them. And the enum values dht-routing.ts and gossip.ts copy, so as not to import those
// packages, are the packages' own.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EventTypes } from '@libp2p/kad-dht'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { DHT_EVENT } from '../../src/net/dht-routing.ts'
import { VALIDATOR_RESULT } from '../../src/messaging/gossip.ts'
import { CLI, tempDir } from '../helpers/cli.ts'
import { NODE_FLAGS } from '../../src/runtime/index.ts'
import { loadedSources } from '../helpers/bundle-sources.ts'
import type { ModuleTrace } from '../helpers/module-trace.ts'

const PRELOAD = fileURLToPath(new URL('../helpers/module-trace.ts', import.meta.url))
const OVERLAY = ['@libp2p/kad-dht', '@libp2p/gossipsub', '@libp2p/circuit-relay-v2', '@libp2p/dcutr', '@libp2p/autonat', '@libp2p/bootstrap', '@libp2p/mdns']

/**
 * The overlay packages a `start` loads before it is ready. It is sent SIGTERM the moment its ready
 * line is read and must stop cleanly (exit code 0): that also pins start's order, handlers before
 * the ready line (with the line first, 8 of 8 runs of this file, 4 at once, were killed outright).
 */
async function overlayPackagesLoaded (dir: string, extra: string[]): Promise<string[]> {
  const trace = join(dir, 'trace.json')
  const args = [...NODE_FLAGS, '--import', PRELOAD, CLI, 'start', '--data', join(dir, 'data'), '--listen', '127.0.0.1:0', '--api', '127.0.0.1:0', '--json', ...extra]
  const child = spawn(process.execPath, args, { env: { ...process.env, DV_MODULE_TRACE: trace }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<string>(resolve => child.on('exit', (code, signal) => { resolve(`code ${code} signal ${signal}`) }))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no ready line in 90 s:\n${stderr}`)) }, 90_000)
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (stdout.includes('"event":"ready"')) { clearTimeout(timer); resolve() }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited (${code}) before ready:\n${stderr}`)) })
  })
  child.kill('SIGTERM')
  assert.equal(await exited, 'code 0 signal null', stderr)
  const { urls } = JSON.parse(await readFile(trace, 'utf8')) as ModuleTrace
  // The CLI is a bundle: its chunks' sources say which packages were loaded.
  const files = await loadedSources(urls)
  return OVERLAY.filter(p => files.some(f => f.includes(`/node_modules/${p}/`)))
}

test('a node without --dht loads no overlay package; with --dht it loads them', async (t) => {
  const dir = await tempDir(t)
  assert.deepEqual(await overlayPackagesLoaded(join(dir, 'mesh'), []), [])
  const withDht = await overlayPackagesLoaded(join(dir, 'dht'), ['--dht'])
  for (const p of ['@libp2p/kad-dht', '@libp2p/gossipsub', '@libp2p/dcutr', '@libp2p/autonat']) assert.ok(withDht.includes(p), `${p} with --dht: ${withDht.join(', ')}`)
})

test('the enum values copied to avoid loading kad-dht and gossipsub are theirs', () => {
  assert.equal(DHT_EVENT.SEND_QUERY, EventTypes.SEND_QUERY)
  assert.equal(DHT_EVENT.PEER_RESPONSE, EventTypes.PEER_RESPONSE)
  assert.equal(DHT_EVENT.FINAL_PEER, EventTypes.FINAL_PEER)
  assert.equal(DHT_EVENT.PROVIDER, EventTypes.PROVIDER)
  assert.equal(VALIDATOR_RESULT.Accept, TopicValidatorResult.Accept)
  assert.equal(VALIDATOR_RESULT.Ignore, TopicValidatorResult.Ignore)
  assert.equal(VALIDATOR_RESULT.Reject, TopicValidatorResult.Reject)
})
