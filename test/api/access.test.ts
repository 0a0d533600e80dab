// The API's access rules, tested like an attacker over every route fastify has registered (so a
// route added later is covered the day it appears): no token or a wrong one is 401 whatever the
// spelling of the path or the form of the request line; a Host this API does not answer on is
// refused (DNS rebinding); a state-changing request from another site's page is refused; only
// GET/HEAD /metrics is public. Exact bytes go over a raw socket.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { pino } from 'pino'
import { networkInterfaces } from 'node:os'
import { startApiServer, PUBLIC_ROUTES, type ApiServer, type ApiRoute } from '../../src/api/index.ts'
import { allowedHosts } from '../../src/api/guard.ts'
import { putBytes, startCluster } from '../helpers/cluster.ts'
import { rawRequest, type RawResponse } from '../helpers/raw-http.ts'

const TOKEN = 'a'.repeat(64)

/** A one-node cluster with a file `a.txt`, and an API server (same code as the node's) with a known token. */
async function apiUnderTest (t: Parameters<typeof startCluster>[0]): Promise<{ api: ApiServer, port: number, nodePort: number }> {
  const cluster = await startCluster(t, 1)
  await putBytes(cluster.nodes[0], 'a.txt', Buffer.from('secret content'))
  const api = await startApiServer({ services: cluster.nodes[0].services, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, log: pino({ level: 'silent' }) })
  t.after(async () => { await api.close() })
  return { api, port: Number(new URL(api.url).port), nodePort: Number(new URL(cluster.nodes[0].apiUrl).port) }
}

/** A concrete path for a route pattern: every parameter is the file `a.txt`. */
function pathOf (route: ApiRoute): string {
  if (route.url === '/ui/:asset') return '/ui/app.js'
  return route.url.replace(/:\w+/g, 'a.txt') + (route.url === '/api/files' && route.method === 'POST' ? '?name=up.txt' : '')
}

function isPublic (route: ApiRoute): boolean {
  return PUBLIC_ROUTES.has(`${route.method} ${route.url}`)
}

interface Send { method: string, target: string, host?: string | null, headers?: Record<string, string>, body?: string, version?: string }

async function send (port: number, s: Send): Promise<RawResponse> {
  const lines = [`${s.method} ${s.target} HTTP/${s.version ?? '1.1'}`]
  if (s.host !== null) lines.push(`Host: ${s.host ?? `127.0.0.1:${port}`}`)
  for (const [name, value] of Object.entries(s.headers ?? {})) lines.push(`${name}: ${value}`)
  const body = s.body ?? (['POST', 'PUT', 'PATCH', 'DELETE'].includes(s.method) ? '{}' : '')
  if (body !== '') lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`)
  lines.push('Connection: close')
  return await rawRequest(port, lines.join('\r\n') + '\r\n\r\n' + body)
}

const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` })

function errorCode (res: RawResponse): string | undefined {
  try {
    return JSON.parse(res.body).error?.code
  } catch {
    return undefined
  }
}

/** Every spelling of `path` that an attacker might hope the token check reads differently from the router. */
function pathVariants (path: string, port: number): string[] {
  const [pathname, query] = path.split('?')
  const q = query === undefined ? '' : `?${query}`
  const first = pathname.slice(1, 2)
  const hex = (c: string): string => c.charCodeAt(0).toString(16)
  const segments = pathname.split('/')
  return [
    `/%${hex(first)}${pathname.slice(2)}${q}`, // /%61pi/...
    `/%${hex(first).toUpperCase()}${pathname.slice(2)}${q}`,
    '/' + [...segments[1]].map(c => `%${hex(c)}`).join('') + pathname.slice(1 + segments[1].length) + q, // /%61%70%69/...
    `/%25${hex(first)}${pathname.slice(2)}${q}`, // double encoding: /%2561pi/...
    segments.length > 2 ? `/${segments[1]}%2F${segments.slice(2).join('/')}${q}` : `${pathname}%2F${q}`, // /api%2Ffiles
    segments.length > 2 ? `/${segments[1]}%2f${segments.slice(2).join('/')}${q}` : `${pathname}%2f${q}`,
    pathname.toUpperCase() + q, // /API/FILES
    pathname.slice(0, 2).toUpperCase() + pathname.slice(2) + q, // /Api/files
    `/${pathname}${q}`, // //api/files
    `/.${pathname}${q}`, // /./api/files
    `/x/..${pathname}${q}`,
    `${pathname}/${q}`,
    `${pathname};x=1${q}`,
    `${pathname}${q === '' ? '?' : q + '&'}token=${TOKEN}`,
    `${pathname}#frag`,
    `${pathname}%zz${q}`, // malformed escapes
    `/%E0%A4%A${pathname}${q}`,
    `${pathname}%00${q}`,
    `http://127.0.0.1:${port}${path}`, // absolute-form
    `http://localhost:${port}${path}`,
    `http://evil.com${path}`,
    `HTTP://127.0.0.1:${port}/%${hex(first)}${pathname.slice(2)}${q}`
  ]
}

test('every route but the public ones (metrics, the dashboard page) needs the token: none or a wrong one is 401, whatever the path spelling or request-line form', async (t) => {
  const { api, port, nodePort } = await apiUnderTest(t)
  assert.ok(api.routes.length >= 15, `the routes are recorded (${api.routes.length})`)
  // The node's own API server is the same code: the bypass of issue 14 is closed there too.
  for (const target of ['/%61pi/files', '/api/files', `http://127.0.0.1:${nodePort}/api/files`]) {
    const res = await send(nodePort, { method: 'GET', target })
    assert.ok([400, 401].includes(res.status), `node's API, ${target}: ${res.status}`)
    assert.doesNotMatch(res.body, /a\.txt/)
  }
  // Public: the metrics scrape (counts only), and the dashboard's page, its static assets and its
  // login link, which carry no data (the page asks token- or session-guarded routes for all it
  // shows; the link only trades a one-time code minted with the token for a session).
  assert.deepEqual(api.routes.filter(isPublic).map(r => `${r.method} ${r.url}`).sort(),
    ['GET /', 'GET /login', 'GET /metrics', 'GET /ui/:asset', 'HEAD /', 'HEAD /login', 'HEAD /metrics', 'HEAD /ui/:asset'],
    'the public allowlist is the metrics scrape and the dashboard\'s static page: a new public route must be argued for here')
  let checked = 0
  for (const route of api.routes) {
    const path = pathOf(route)
    const what = `${route.method} ${route.url}`
    const none = await send(port, { method: route.method, target: path })
    const wrong = await send(port, { method: route.method, target: path, headers: bearer('b'.repeat(64)) })
    const lower = await send(port, { method: route.method, target: path, headers: { authorization: `bearer ${TOKEN.toUpperCase()}` } })
    if (isPublic(route)) {
      assert.equal(none.status, 200, what)
      assert.doesNotMatch(none.body, /secret content|a\.txt|"id"/, `${what} reveals nothing`)
      continue
    }
    for (const [res, how] of [[none, 'no token'], [wrong, 'wrong token'], [lower, 'wrong-case token']] as const) {
      assert.equal(res.status, 401, `${what} with ${how}: ${res.status} ${res.body}`)
      if (route.method !== 'HEAD') assert.equal(errorCode(res), 'UNAUTHORIZED', `${what} with ${how}`)
    }
    for (const target of pathVariants(path, port)) {
      const res = await send(port, { method: route.method, target })
      assert.ok(res.status < 200 || res.status >= 300, `${route.method} ${target} without a token answered ${res.status}: ${res.body.slice(0, 200)}`)
      assert.ok([0, 400, 401, 403, 404].includes(res.status), `${route.method} ${target}: ${res.status}`)
      assert.doesNotMatch(res.body, /secret content|a\.txt|"id"/, `${route.method} ${target} reveals nothing`)
      checked++
    }
  }
  assert.ok(checked > 200, `${checked} attack requests`)
  t.diagnostic(`${api.routes.length} routes, ${checked} path variants without a token, none answered 2xx`)

  // Unmatched URLs need the token too (they reveal nothing either way); with it they are a plain 404.
  const unknown = await send(port, { method: 'GET', target: '/api/nothing-here' })
  assert.equal(unknown.status, 401)
  const unknownWithToken = await send(port, { method: 'GET', target: '/api/nothing-here', headers: bearer(TOKEN) })
  assert.equal(unknownWithToken.status, 404)
  assert.equal(errorCode(unknownWithToken), 'NOT_FOUND')
  const options = await send(port, { method: 'OPTIONS', target: '/api/files' })
  assert.equal(options.status, 401)

  // The right token on the plain path works (the guard does not refuse everything).
  const list = await send(port, { method: 'GET', target: '/api/files', headers: bearer(TOKEN) })
  assert.equal(list.status, 200)
  assert.match(list.body, /"name":"a\.txt"/)
  // An absolute-form request line is refused even with the token: its authority would override Host.
  const absolute = await send(port, { method: 'GET', target: `http://127.0.0.1:${port}/api/files`, headers: bearer(TOKEN) })
  assert.equal(absolute.status, 400)
  assert.equal(errorCode(absolute), 'BAD_INPUT')
})

test('a Host the API does not answer on is refused on every route, even with the token (DNS rebinding)', async (t) => {
  const { api, port } = await apiUnderTest(t)
  const badHosts = ['evil.com', `evil.com:${port}`, '127.0.0.1.evil.com', `127.0.0.1.evil.com:${port}`, 'localhost:1', `localhost:${port + 1}`, '127.0.0.1', 'localhost', `127.0.0.2:${port}`, `localhost.:${port}`, `[::2]:${port}`, `127.0.0.1:${port}@evil.com`, '']
  for (const route of api.routes) {
    const path = pathOf(route)
    for (const host of badHosts) {
      const res = await send(port, { method: route.method, target: path, host, headers: bearer(TOKEN) })
      assert.equal(res.status, 403, `${route.method} ${path} with Host ${JSON.stringify(host)}: ${res.status} ${res.body}`)
      if (route.method !== 'HEAD') assert.equal(errorCode(res), 'FORBIDDEN')
    }
    // No Host at all (HTTP/1.0 allows it; Node refuses it for 1.1), and two Host headers.
    const http10 = await send(port, { method: route.method, target: path, host: null, version: '1.0', headers: bearer(TOKEN) })
    assert.equal(http10.status, 403, `${route.method} ${path} over HTTP/1.0 without Host`)
    const http11 = await send(port, { method: route.method, target: path, host: null, headers: bearer(TOKEN) })
    assert.equal(http11.status, 400, `${route.method} ${path} without Host`)
    const twice = await send(port, { method: route.method, target: path, headers: { Host: 'evil.com', ...bearer(TOKEN) } })
    assert.equal(twice.status, 403, `${route.method} ${path} with a second Host`)
  }
  // The names the API answers on, in any case.
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
    const res = await send(port, { method: 'GET', target: '/api/files', host, headers: bearer(TOKEN) })
    assert.equal(res.status, 200, `Host ${host}`)
  }
})

test('a state-changing request from another site\'s page is refused (Origin, Sec-Fetch-Site); the same origin and no Origin are fine', async (t) => {
  const { api, port } = await apiUnderTest(t)
  const changing = api.routes.filter(r => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))
  assert.ok(changing.length >= 5, 'uploads, import, export, delete, messages, recover')
  const foreign = [
    { Origin: 'http://evil.com' },
    { Origin: 'null' },
    { Origin: `http://127.0.0.1:${port}.evil.com` },
    { Origin: `https://127.0.0.1:${port}` },
    { Origin: `http://localhost:${port + 1}` },
    { Origin: `http://127.0.0.1:${port}/` },
    { 'Sec-Fetch-Site': 'cross-site' },
    { 'Sec-Fetch-Site': 'same-site' },
    { 'Sec-Fetch-Site': 'cross-site, same-origin' }
  ]
  for (const route of changing) {
    for (const headers of foreign) {
      const res = await send(port, { method: route.method, target: pathOf(route), headers: { ...headers, ...bearer(TOKEN) } })
      assert.equal(res.status, 403, `${route.method} ${route.url} with ${JSON.stringify(headers)}: ${res.status} ${res.body}`)
      assert.equal(errorCode(res), 'FORBIDDEN')
    }
  }
  // The file is still there: nothing above got through.
  const list = await send(port, { method: 'GET', target: '/api/files', headers: bearer(TOKEN) })
  assert.match(list.body, /"name":"a\.txt"/)
  // A page of the API's own origin, or no Origin (the CLI, curl), reaches the route.
  for (const headers of [{ Origin: `http://127.0.0.1:${port}` }, { Origin: `http://LOCALHOST:${port}` }, { 'Sec-Fetch-Site': 'same-origin' }, {}]) {
    const res = await send(port, { method: 'DELETE', target: '/api/files/nothing-by-this-name', headers: { ...headers, ...bearer(TOKEN) } })
    assert.equal(res.status, 404, JSON.stringify(headers))
    assert.equal(errorCode(res), 'NOT_FOUND')
  }
  // Reads are not refused for their Origin (a foreign page cannot read the answer without CORS, nor send the token).
  const read = await send(port, { method: 'GET', target: '/api/files', headers: { Origin: 'http://evil.com', ...bearer(TOKEN) } })
  assert.equal(read.status, 200)
})

test('the Host names allowed are the loopback names and the listen address, with the port; a wildcard listen adds the machine\'s addresses', () => {
  assert.deepEqual([...allowedHosts('127.0.0.1', 7071)].sort(), ['127.0.0.1:7071', '[::1]:7071', 'localhost:7071'])
  assert.deepEqual([...allowedHosts('::1', 80)].sort(), ['127.0.0.1', '127.0.0.1:80', '[::1]', '[::1]:80', 'localhost', 'localhost:80'])
  assert.ok(allowedHosts('MyHost.lan', 7071).has('myhost.lan:7071'))
  const machine = Object.values(networkInterfaces()).flat().map(a => a!.address.toLowerCase())
  for (const wildcard of ['0.0.0.0', '::']) {
    const hosts = allowedHosts(wildcard, 7071)
    for (const address of machine) assert.ok(hosts.has(address.includes(':') ? `[${address}]:7071` : `${address}:7071`), address)
    assert.ok(!hosts.has('0.0.0.0:7071') && !hosts.has('[::]:7071'), 'a wildcard is no name to ask for')
  }
})
