// docs/ERRORS.md and src/errors.ts stay in step: every code is in the table with its HTTP status
// and CLI exit code, and the table names no code that does not exist (fastify's errors test).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { ERROR_CODES, VaultError, errnoCode, toVaultError, type ErrorCode } from '../src/errors.ts'
import { exitCodeOf } from '../src/cli/output.ts'

interface Row { code: string, http: number, exit: number }

async function tableRows (): Promise<Row[]> {
  const text = await readFile(new URL('../docs/ERRORS.md', import.meta.url), 'utf8')
  return [...text.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (\d) \|/gm)].map((m) => ({ code: m[1], http: Number(m[2]), exit: Number(m[3]) }))
}

test('docs/ERRORS.md lists every error code, with its HTTP status and CLI exit code', async () => {
  const rows = await tableRows()
  const documented = new Map(rows.map((row) => [row.code, row]))
  for (const code of ERROR_CODES) {
    const row = documented.get(code)
    assert.ok(row !== undefined, `${code} is in src/errors.ts but not in docs/ERRORS.md`)
    const error = new VaultError(code, 'x')
    assert.equal(row.http, error.status, `${code}: HTTP status in docs/ERRORS.md`)
    assert.equal(row.exit, exitCodeOf(error), `${code}: CLI exit code in docs/ERRORS.md`)
  }
})

test('docs/ERRORS.md lists no code that does not exist, and each code once', async () => {
  const rows = await tableRows()
  const known = new Set<string>(ERROR_CODES)
  for (const row of rows) assert.ok(known.has(row.code), `${row.code} is in docs/ERRORS.md but not in src/errors.ts`)
  assert.equal(new Set(rows.map((row) => row.code)).size, rows.length, 'a code is listed twice')
  assert.ok(rows.length > 0)
})

test('every code is used somewhere in src/ (dead codes go)', async () => {
  const { readdir } = await import('node:fs/promises')
  const files = (await readdir(new URL('../src/', import.meta.url), { recursive: true })).filter((f) => f.endsWith('.ts'))
  let source = ''
  for (const f of files) if (f !== 'errors.ts') source += await readFile(new URL(`../src/${f}`, import.meta.url), 'utf8')
  const unused = ERROR_CODES.filter((code: ErrorCode) => !source.includes(`'${code}'`))
  assert.deepEqual(unused, [])
})

test('one errno table: ENOTDIR and ELOOP name a code only for a path the user gave', () => {
  const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: x`), { code })
  const shared: Record<string, ErrorCode> = { ENOSPC: 'DISK_FULL', EDQUOT: 'DISK_FULL', ECONNRESET: 'TRUNCATED', ENOENT: 'NOT_FOUND', EACCES: 'FORBIDDEN', EPERM: 'FORBIDDEN', EROFS: 'FORBIDDEN', ENAMETOOLONG: 'BAD_INPUT', EADDRINUSE: 'BAD_INPUT' }
  for (const [code, ours] of Object.entries(shared)) {
    assert.equal(errnoCode(errno(code)), ours, code)
    assert.equal(errnoCode(errno(code), { userPath: true }), ours, `${code} (user path)`)
  }
  assert.equal(errnoCode(errno('ENOTDIR'), { userPath: true }), 'NOT_FOUND')
  assert.equal(errnoCode(errno('ELOOP'), { userPath: true }), 'BAD_INPUT')
  for (const code of ['ENOTDIR', 'ELOOP', 'EPIPE', 'toString']) {
    assert.equal(errnoCode(errno(code)), undefined, code)
    assert.equal(toVaultError(errno(code)).code, 'INTERNAL', code)
  }
  assert.equal(errnoCode(errno('toString'), { userPath: true }), undefined)
  assert.equal(errnoCode(undefined), undefined)
})
