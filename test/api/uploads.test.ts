// POST /api/files?name=… takes the body as the file's bytes whatever its Content-Type: fastify's
// JSON and text parsers must never see it (they would consume or reject it).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { startCluster } from '../helpers/cluster.ts'

test('an upload is stored byte-exact whatever its Content-Type (text/plain, application/json, form, none, nonsense)', async (t) => {
  const cluster = await startCluster(t, 1)
  const node = cluster.nodes[0]
  const { url, token } = JSON.parse(await readFile(node.paths.apiFile, 'utf8'))
  const auth = { authorization: `Bearer ${token}` }
  const bodies: Array<[string | undefined, Buffer]> = [
    ['text/plain', Buffer.from('plain text, not parsed\n')],
    ['text/plain; charset=utf-8', randomBytes(2 * 1024 * 1024 + 3)], // past the 1 MiB JSON body limit
    ['application/json', Buffer.from('{"looks": "like json", "n": 1}')],
    ['application/json', Buffer.from('not json at all {')],
    ['application/json', randomBytes(3 * 1024 * 1024)],
    ['application/x-www-form-urlencoded', Buffer.from('a=1&b=2')],
    ['multipart/form-data; boundary=xyz', Buffer.from('--xyz\r\n\r\nbody\r\n--xyz--')],
    ['application/octet-stream', randomBytes(1000)],
    ['image/png', randomBytes(4096)],
    ['foo', Buffer.from('a type that is no media type')],
    [undefined, Buffer.from('no content type at all')]
  ]
  for (const [i, [type, body]] of bodies.entries()) {
    const name = `upload-${i}.bin`
    const headers: Record<string, string> = { ...auth }
    if (type !== undefined) headers['content-type'] = type
    const put = await fetch(`${url}/api/files?name=${name}`, { method: 'POST', headers, body })
    assert.equal(put.status, 201, `${type}: ${await put.clone().text()}`)
    assert.equal((await put.json()).size, body.length, String(type))
    const got = await fetch(`${url}/api/files/${name}`, { headers: auth })
    assert.equal(got.status, 200)
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(body), `${type}: reads back byte-equal`)
  }
  // The JSON routes still parse JSON.
  const exported = await fetch(`${url}/api/files/export`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ ref: 'upload-0.bin', path: 'relative' }) })
  assert.equal(exported.status, 400)
  assert.match((await exported.json()).error.message, /absolute/)
})
