// A vault name may be up to 4,096 bytes, a file name on the local disk only 255: `get NAME` without
// -o (or -o DIR) writes a shortened name (extension kept, UTF-8 intact) and says so on stderr,
// whether the node writes the file or the CLI streams it; an explicit -o that is too long is a
// clear BAD_INPUT, never a stack trace.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'

test('get of a 4,096-byte name writes a shortened ./name (extension kept, UTF-8 safe) and says so', async (t) => {
  const dir = await tempDir(t)
  const data = join(dir, 'node')
  const node = await startCliNode(data, ['--replicas', '1'])
  t.after(async () => { await node.kill() })
  const ascii = 'n'.repeat(4092) + '.txt'
  const accented = 'é'.repeat(1000) + '.md' // 2,003 bytes: two per character
  for (const name of [ascii, accented]) {
    assert.ok(Buffer.byteLength(name) > 255)
    const put = await runCli(['put', '-', '--name', name, '--data', data], { input: `content of ${name.length}` })
    assert.equal(put.code, 0, put.stderr)
  }

  for (const [how, env] of [['written by the node', {}], ['streamed', { DV_GET_STREAM: '1' }]] as const) {
    for (const [name, ext] of [[ascii, '.txt'], [accented, '.md']] as const) {
      const out = join(dir, `${how}-${ext.slice(1)}`)
      await mkdir(out)
      const got = await runCli(['get', name, '--json', '--data', data], { cwd: out, env })
      assert.equal(got.code, 0, `${how}: ${got.stderr}`)
      assert.match(got.stderr, /note: the file's name is \d+ bytes, longer than a file name can be here \(255\)/)
      const [written, ...more] = await readdir(out)
      assert.deepEqual(more, [], 'one file, no temp file left')
      assert.ok(Buffer.byteLength(written) <= 255 && Buffer.byteLength(written) > 240, `${Buffer.byteLength(written)} bytes`)
      assert.ok(written.endsWith(ext), 'the extension is kept')
      assert.ok(name.startsWith(written.slice(0, -ext.length)), 'a prefix of the name, no character split')
      assert.doesNotMatch(written, /\uFFFD/)
      assert.equal(await readFile(join(out, written), 'utf8'), `content of ${name.length}`)
      assert.equal(JSON.parse(got.stdout).path, written)

      const again = await runCli(['get', name, '--data', data], { cwd: out, env })
      assert.equal(again.code, 1)
      assert.match(again.stderr, /\(ALREADY_EXISTS\)/, 'the shortened name is never overwritten either')
    }
  }

  const outDir = join(dir, 'to-dir')
  await mkdir(outDir)
  const toDir = await runCli(['get', ascii, '-o', outDir, '--data', data])
  assert.equal(toDir.code, 0, toDir.stderr)
  const [inDir] = await readdir(outDir)
  assert.equal(Buffer.byteLength(inDir), 255, '-o DIR shortens the same way')

  for (const env of [{}, { DV_GET_STREAM: '1' }]) {
    const tooLong = await runCli(['get', ascii, '-o', join(dir, 'x'.repeat(300)), '--data', data], { env })
    assert.equal(tooLong.code, 1)
    assert.match(tooLong.stderr, /^error: .*too long.*\(BAD_INPUT\)\n$/)
  }
})
