// The "simple tool": the machine's own limit for what a put and a get must do, in one plain,
// synchronous process with no framework around it. Run as a child process by simple-tool.ts:
//
//   node simple-tool-child.ts seal IN SEALED INDEX   read IN in 1 MiB pieces; per piece SHA-256 of the
//                                                    plaintext, AES-256-GCM seal (random nonce),
//                                                    SHA-256 of the ciphertext, write; fsync at the end
//   node simple-tool-child.ts open SEALED INDEX OUT  read each sealed piece, verify its SHA-256,
//                                                    AES-256-GCM open (tag checked), write
//
// Prints one JSON line: {"bytes": plaintext bytes, "seconds": time from open to the last byte
// written (and fsynced, for seal), "cpuSeconds": user + system CPU over the same span}. The index
// (key, piece hashes) is written outside the timing.
import { closeSync, fsyncSync, openSync, readSync, writeFileSync, writevSync, writeSync, readFileSync } from 'node:fs'
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

const PIECE = 1024 * 1024
const NONCE = 12
const TAG = 16

interface Measured { bytes: number, seconds: number, cpuSeconds: number }

function cpuSince (start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start)
  return (u.user + u.system) / 1e6
}

interface Index { key: string, pieces: Array<{ plain: number, plainSha256: string, sha256: string }> }

function seal (input: string, sealedPath: string, indexPath: string): Measured {
  const key = randomBytes(32)
  const pieces: Index['pieces'] = []
  const cpu = process.cpuUsage()
  const started = performance.now()
  const fdIn = openSync(input, 'r')
  const fdOut = openSync(sealedPath, 'w')
  const buf = Buffer.allocUnsafe(PIECE)
  let bytes = 0
  for (;;) {
    const n = readSync(fdIn, buf, 0, PIECE, null)
    if (n === 0) break
    const plain = buf.subarray(0, n)
    const plainSha256 = createHash('sha256').update(plain).digest('hex')
    const nonce = randomBytes(NONCE)
    const cipher = createCipheriv('aes-256-gcm', key, nonce)
    const body = cipher.update(plain)
    cipher.final()
    const tag = cipher.getAuthTag()
    const digest = createHash('sha256').update(nonce).update(body).update(tag).digest('hex')
    writevSync(fdOut, [nonce, body, tag])
    pieces.push({ plain: n, plainSha256, sha256: digest })
    bytes += n
  }
  fsyncSync(fdOut)
  closeSync(fdOut)
  closeSync(fdIn)
  const seconds = (performance.now() - started) / 1000
  const cpuSeconds = cpuSince(cpu)
  writeFileSync(indexPath, JSON.stringify({ key: key.toString('hex'), pieces } satisfies Index))
  return { bytes, seconds, cpuSeconds }
}

function open (sealedPath: string, indexPath: string, output: string): Measured {
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as Index
  const key = Buffer.from(index.key, 'hex')
  const cpu = process.cpuUsage()
  const started = performance.now()
  const fdIn = openSync(sealedPath, 'r')
  const fdOut = openSync(output, 'w')
  const buf = Buffer.allocUnsafe(PIECE + NONCE + TAG)
  let bytes = 0
  for (const piece of index.pieces) {
    const length = piece.plain + NONCE + TAG
    const n = readSync(fdIn, buf, 0, length, null)
    if (n !== length) throw new Error('sealed file is short')
    const sealed = buf.subarray(0, n)
    if (createHash('sha256').update(sealed).digest('hex') !== piece.sha256) throw new Error('piece hash mismatch')
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE))
    decipher.setAuthTag(sealed.subarray(n - TAG))
    const plain = decipher.update(sealed.subarray(NONCE, n - TAG))
    decipher.final()
    writeSync(fdOut, plain)
    bytes += plain.length
  }
  closeSync(fdOut)
  closeSync(fdIn)
  return { bytes, seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSince(cpu) }
}

const [mode, a, b, c] = process.argv.slice(2)
if (a === undefined || b === undefined || c === undefined) {
  process.stderr.write('usage: simple-tool-child.ts seal IN SEALED INDEX | open SEALED INDEX OUT\n')
  process.exit(2)
}
const result = mode === 'seal' ? seal(a, b, c) : mode === 'open' ? open(a, b, c) : null
if (result === null) {
  process.stderr.write(`unknown mode ${mode}\n`)
  process.exit(2)
}
process.stdout.write(JSON.stringify(result) + '\n')
