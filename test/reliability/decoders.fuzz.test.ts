// Fuzz loop (fast-check) over every decoder that reads bytes from a peer, a disk or a user: wire
// frames of every protocol, the blob-ID bitmap, the manifest (sealed and parsed), capabilities,
// file names and Range headers. Each either returns a value its own schema accepts or throws a
// VaultError with its stable code — never another exception, never a value that breaks a rule.
// DV_FUZZ_RUNS sets the runs per property (the short default runs in `npm test`; `npm run
// reliability` runs many more).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { VaultError } from '../../src/errors.ts'
import { parseJsonFrame, PexFrame, MessageEnvelope, MessageAck, FloodFrame, FloodAck } from '../../src/protocols/index.ts'
import {
  blockRequestSchema, putReplySchema, getReplySchema, deleteReplySchema, hasReplySchema, listReplySchema,
  decodeBitmap, encodeBitmap
} from '../../src/replication/block-protocol.ts'
import { formatCapability, parseCapability, sha256Hex, sealManifest, openManifest, unwrapReadKey, MANIFEST_HEADER_BYTES } from '../../src/crypto/index.ts'
import { parseManifest, checkFileName } from '../../src/files/manifest.ts'
import { parseRange } from '../../src/api/range.ts'

const RUNS = Number(process.env.DV_FUZZ_RUNS ?? 300)
const params = { numRuns: RUNS }

/** Runs `fn`; a VaultError with one of `codes` is an allowed outcome, anything else thrown is a bug. */
const isCorrupt = (err: unknown): boolean => err instanceof VaultError && err.code === 'CORRUPT'

function expectCodeOr<T> (codes: string[], fn: () => T): T | undefined {
  try {
    return fn()
  } catch (err) {
    if (!(err instanceof VaultError)) throw new Error(`decoder threw a non-VaultError: ${String(err)}`, { cause: err })
    assert.ok(codes.includes(err.code), `unexpected code ${err.code}: ${err.message}`)
    return undefined
  }
}

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/)
const nodeId = fc.stringMatching(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/)

/** Valid frames of the block protocol, to be mutated: the fuzzer starts close to the real thing. */
const validBlockRequest = fc.oneof(
  fc.record({ op: fc.constant('put'), owner: nodeId, id: hex64, size: fc.integer({ min: 1, max: 4 * 1024 * 1024 }) }),
  fc.record({ op: fc.constant('get'), owner: nodeId, id: hex64 }),
  fc.record({ op: fc.constantFrom('delete', 'has'), owner: nodeId, ids: fc.array(hex64, { minLength: 1, maxLength: 4 }) }),
  fc.record({ op: fc.constant('list'), owner: nodeId, after: fc.option(hex64, { nil: undefined }) })
)

/** A JSON value changed in one place: a key dropped or added, a value replaced by anything. */
function mutated (base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.tuple(base, fc.string(), fc.jsonValue(), fc.nat()).map(([value, key, junk, pick]) => {
    if (typeof value !== 'object' || value === null) return junk
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
    const keys = Object.keys(copy)
    if (keys.length > 0 && pick % 3 === 0) delete copy[keys[pick % keys.length]]
    else if (keys.length > 0 && pick % 3 === 1) copy[keys[pick % keys.length]] = junk
    else copy[key] = junk
    return copy
  })
}

/** Frame payloads as a hostile peer would send them: raw bytes, any JSON, near-valid JSON. */
function framePayloads (valid: fc.Arbitrary<unknown>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    fc.jsonValue().map(v => Buffer.from(JSON.stringify(v) ?? 'null')),
    mutated(valid).map(v => Buffer.from(JSON.stringify(v) ?? 'null')),
    valid.map(v => Buffer.from(JSON.stringify(v)))
  )
}

const wireSchemas = [
  { name: 'block request', schema: blockRequestSchema, valid: validBlockRequest as fc.Arbitrary<unknown> },
  { name: 'block put reply', schema: putReplySchema, valid: fc.constant({ ok: true }) },
  { name: 'block get reply', schema: getReplySchema, valid: fc.record({ ok: fc.constant(true), size: fc.integer({ min: 1, max: 1000 }) }) },
  { name: 'block delete reply', schema: deleteReplySchema, valid: fc.record({ ok: fc.constant(true), deleted: fc.nat(1024) }) },
  { name: 'block has reply', schema: hasReplySchema, valid: fc.record({ ok: fc.constant(true), held: fc.base64String({ maxLength: 16 }) }) },
  { name: 'block list reply', schema: listReplySchema, valid: fc.record({ ok: fc.constant(true), ids: fc.array(hex64, { maxLength: 3 }), done: fc.boolean() }) },
  { name: 'peer exchange', schema: PexFrame, valid: fc.record({ peers: fc.array(fc.record({ id: nodeId, addrs: fc.array(fc.constant('/ip4/127.0.0.1/tcp/7070'), { maxLength: 2 }) }), { maxLength: 3 }) }) },
  { name: 'direct message', schema: MessageEnvelope, valid: fc.record({ id: fc.stringMatching(/^[A-Za-z0-9_-]{8,16}$/), from: nodeId, to: nodeId, text: fc.string(), at: fc.constant('2026-01-01T00:00:00.000Z'), sig: fc.base64String({ minLength: 4, maxLength: 88 }) }) },
  { name: 'message ack', schema: MessageAck, valid: fc.record({ ok: fc.boolean(), id: fc.string({ maxLength: 64 }) }) },
  { name: 'flood frame', schema: FloodFrame, valid: fc.record({ type: fc.constant('msg'), hops: fc.nat(16), message: fc.record({ id: fc.constant('abcdefgh'), from: nodeId, to: fc.constant('*'), text: fc.string(), at: fc.constant('2026-01-01T00:00:00.000Z'), sig: fc.constant('AAAA') }) }) },
  { name: 'flood ack', schema: FloodAck, valid: fc.record({ ok: fc.boolean() }) }
]

for (const { name, schema, valid } of wireSchemas) {
  test(`fuzz: a ${name} frame decodes to a value its schema accepts, or fails as BAD_FRAME`, () => {
    fc.assert(fc.property(framePayloads(valid), (bytes) => {
      const value = expectCodeOr(['BAD_FRAME'], () => parseJsonFrame(schema, bytes))
      if (value !== undefined) assert.equal(schema.safeParse(value).success, true)
    }), params)
  })
}

test('fuzz: a block request never names a path outside its owner folder', () => {
  fc.assert(fc.property(framePayloads(validBlockRequest), (bytes) => {
    const request = expectCodeOr(['BAD_FRAME'], () => parseJsonFrame(blockRequestSchema, bytes))
    if (request === undefined) return
    assert.match(request.owner, /^[1-9A-HJ-NP-Za-km-z]+$/)
    const ids = 'ids' in request ? request.ids : 'id' in request ? [request.id] : []
    for (const id of ids) assert.match(id, /^[0-9a-f]{64}$/)
  }), params)
})

test('fuzz: a HAS bitmap decodes to exactly one answer per ID, or fails as BAD_FRAME', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 1024 }), (text, count) => {
    const bits = expectCodeOr(['BAD_FRAME'], () => decodeBitmap(text, count))
    if (bits !== undefined) assert.equal(bits.length, count)
  }), params)
  fc.assert(fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 1024 }), (bits) => {
    assert.deepEqual(decodeBitmap(encodeBitmap(bits), bits.length), bits)
  }), params)
})

const validManifest = fc.array(fc.integer({ min: 1, max: 1 << 20 }), { maxLength: 4 }).chain(sizes => fc.record({
  v: fc.constant(1),
  name: fc.string({ minLength: 1, maxLength: 40 }),
  size: fc.constant(sizes.reduce((a, b) => a + b, 0)),
  mtime: fc.constant('2026-01-01T00:00:00.000Z'),
  ctime: fc.constant('2026-01-01T00:00:00.000Z'),
  chunks: fc.tuple(...sizes.map(size => fc.record({ id: hex64, key: hex64, size: fc.constant(size) }))),
  target: fc.option(fc.nat(64), { nil: undefined })
}))

test('fuzz: a parsed manifest always adds up, or the manifest is CORRUPT', () => {
  fc.assert(fc.property(fc.oneof(fc.anything(), mutated(validManifest), validManifest), (value) => {
    const manifest = expectCodeOr(['CORRUPT'], () => parseManifest(value))
    if (manifest === undefined) return
    assert.equal(manifest.chunks.reduce((n, c) => n + c.size, 0), manifest.size)
    for (const c of manifest.chunks) assert.match(c.id, /^[0-9a-f]{64}$/)
  }), params)
})

test('fuzz: a sealed manifest with any byte changed, cut or extended never opens', () => {
  const vaultKey = randomBytes(32)
  const sealed = sealManifest(vaultKey, { v: 1, name: 'a.txt', size: 0, mtime: 'x', ctime: 'x', chunks: [] })
  const readKey = Buffer.from(sealed.readKey, 'hex')
  assert.deepEqual(openManifest(sealed.id, readKey, sealed.sealed), { v: 1, name: 'a.txt', size: 0, mtime: 'x', ctime: 'x', chunks: [] })
  fc.assert(fc.property(fc.nat(sealed.sealed.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(sealed.sealed.length), fc.uint8Array({ maxLength: 8 }), (at, flip, cut, extra) => {
    const changed = Buffer.concat([sealed.sealed.subarray(0, cut), Buffer.from(extra)])
    const flipped = Buffer.from(sealed.sealed)
    flipped[at] ^= flip
    for (const bytes of [flipped, changed]) {
      if (bytes.equals(sealed.sealed)) continue
      // Under its real ID (a holder that lies) it never opens.
      assert.throws(() => openManifest(sealed.id, readKey, bytes), isCorrupt)
      // Under its own hash (another blob) only the wrapped read key may differ: a reader holding the
      // read key does not need it, and the owner's unwrap below refuses it.
      const wrapOnly = bytes.length === sealed.sealed.length && bytes !== changed && at >= 1 && at < MANIFEST_HEADER_BYTES
      if (!wrapOnly) assert.throws(() => openManifest(sha256Hex(bytes), readKey, bytes), isCorrupt)
    }
    const key = unwrapReadKey(vaultKey, flipped.subarray(0, MANIFEST_HEADER_BYTES))
    if (at < MANIFEST_HEADER_BYTES) assert.equal(key, null)
  }), params)
})

test('fuzz: a capability string parses to one that formats back to itself, or is BAD_INPUT', () => {
  const validCap = fc.record({ fileId: hex64, ownerId: nodeId, readKey: hex64 }).map(formatCapability)
  const capText = fc.oneof(
    fc.string({ maxLength: 300 }),
    validCap,
    fc.tuple(validCap, fc.nat(), fc.string({ maxLength: 3 })).map(([cap, at, junk]) => cap.slice(0, at % cap.length) + junk + cap.slice(at % cap.length + 1))
  )
  fc.assert(fc.property(capText, (text) => {
    const cap = expectCodeOr(['BAD_INPUT'], () => parseCapability(text))
    if (cap !== undefined) assert.equal(formatCapability(cap), text.trim())
  }), params)
})

test('fuzz: a file name the vault accepts can never leave the folder it is written into', () => {
  const segment = fc.oneof(fc.constantFrom('..', '.', '', 'a', '\\', '\u0000', '~', 'C:'), fc.string({ maxLength: 6 }))
  const name = fc.oneof(fc.string({ maxLength: 100 }), fc.array(segment, { maxLength: 6 }).map(s => s.join('/')))
  fc.assert(fc.property(name, (raw) => {
    const checked = expectCodeOr(['BAD_INPUT'], () => checkFileName(raw))
    if (checked === undefined) return
    assert.equal(checked.startsWith('/'), false)
    assert.equal(checked.split('/').some(p => p === '..' || p === '.' || p === ''), false)
    // eslint-disable-next-line no-control-regex
    assert.equal(/[\u0000-\u001f\u007f\\]/.test(checked), false)
  }), params)
})

test('fuzz: a Range header always yields a range inside the file, the whole file, or 416', () => {
  const header = fc.oneof(fc.string({ maxLength: 30 }), fc.tuple(fc.option(fc.nat(), { nil: undefined }), fc.option(fc.nat(), { nil: undefined })).map(([a, b]) => `bytes=${a ?? ''}-${b ?? ''}`))
  fc.assert(fc.property(fc.option(header, { nil: undefined }), fc.nat(1 << 30), (h, size) => {
    const r = parseRange(h, size)
    if (r.kind === 'partial') {
      assert.ok(r.start >= 0 && r.start <= r.end && r.end < size, JSON.stringify({ h, size, r }))
    }
  }), params)
})
