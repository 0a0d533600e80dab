// Capability strings: `dv1.<file id>.<owner id>.<read key>`, and nothing else is accepted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { formatCapability, isCapability, parseCapability, type Capability } from '../../src/crypto/index.ts'

const hex = (): string => randomBytes(32).toString('hex')
const OWNER = '12D3KooWCBuyAyFWJYKQ2tz6VcFxtq9feZ4VcC12RCpgyfF96D9q'
const badInput = { name: 'VaultError', code: 'BAD_INPUT' }

test('a formatted capability parses back to the same file ID, owner and read key', () => {
  const cap: Capability = { fileId: hex(), ownerId: OWNER, readKey: hex() }
  const text = formatCapability(cap)
  assert.match(text, /^dv1\.[0-9a-f]{64}\.[1-9A-HJ-NP-Za-km-z]+\.[0-9a-f]{64}$/)
  assert.ok(isCapability(text))
  assert.deepEqual(parseCapability(text), cap)
  assert.deepEqual(parseCapability(`  ${text}\n`), cap, 'surrounding whitespace from a paste is ignored')
})

test('malformed capability strings are refused with BAD_INPUT', () => {
  const [f, k] = [hex(), hex()]
  const bad = [
    '',
    'dv1',
    'dv1.',
    `dv1.${f}.${OWNER}`,
    `dv2.${f}.${OWNER}.${k}`,
    `DV1.${f}.${OWNER}.${k}`,
    `dv1.${f}.${OWNER}.${k}.extra`,
    `dv1.${f.toUpperCase()}.${OWNER}.${k}`,
    `dv1.${f.slice(1)}.${OWNER}.${k}`,
    `dv1.${f}.${OWNER}.${k}0`,
    `dv1.${f}.${OWNER}.${k.slice(0, 63)}g`,
    `dv1.${f}.../../etc.${k}`,
    `dv1.${f}.${OWNER.slice(0, 10)}.${k}`,
    `dv1.${f}.${OWNER.replace('K', '0')}.${k}`,
    `dv1.${f}.${OWNER}/x.${k}`,
    `dv1..${OWNER}.${k}`
  ]
  for (const text of bad) assert.throws(() => parseCapability(text), badInput, JSON.stringify(text))
})

test('only strings starting with the dv1. prefix look like capabilities', () => {
  assert.ok(isCapability('dv1.anything'))
  assert.ok(!isCapability('report.pdf'))
  assert.ok(!isCapability(hex()))
  assert.ok(!isCapability('dv1'))
})
