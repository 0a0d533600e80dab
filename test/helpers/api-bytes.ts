// Raw bytes from a running node's HTTP API, with the token of its api.json: a download checked
// from the test process without a CLI process per file (~0.4 CPU-seconds each here).
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'

/** GET `path` of the node on `dataDir`; resolves with the status and the body's bytes. */
export async function apiBytes (dataDir: string, path: string): Promise<{ status: number, body: Buffer }> {
  const { url, token } = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as { url: string, token: string }
  return await new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (d: Buffer) => parts.push(d))
      res.on('error', reject)
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }))
    })
    req.on('error', reject)
    req.end()
  })
}
