// Dashboard sign-in without a browser: `open` prints a one-time link; following it once gives an
// HttpOnly, SameSite=Strict session cookie and a redirect to a URL without the code; the cookie
// authorises the API like the token, a state change needs the session's CSRF header and the
// page's own origin; logout ends it; links expire and are single-use.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runCli, startCliNode, tempDir } from '../helpers/cli.ts'
import { SessionStore } from '../../src/api/session.ts'

interface Reply { status: number, headers: Headers, body: string }

async function call (url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, { redirect: 'manual', ...init })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

test('a login link from `open` works once and gives a session cookie that reads the API like the token; without it nothing but the page', async (t) => {
  const dir = await tempDir(t)
  const node = await startCliNode(dir)
  t.after(async () => { await node.stop() })
  await runCli(['msg', 'send', '--all', 'hello', '--data', dir])

  const open = await runCli(['open', '--data', dir, '--json', '--no-browser'])
  assert.equal(open.code, 0, open.stderr)
  const link = JSON.parse(open.stdout) as { url: string, expiresAt: string, opened: boolean }
  assert.equal(new URL(link.url).origin, node.api, 'the link is to the node\'s own API address')
  assert.equal(new URL(link.url).pathname, '/login')
  assert.equal(link.opened, false)
  const apiJson = await runCli(['status', '--data', dir, '--json'])
  assert.equal(apiJson.code, 0)
  const expiresIn = Date.parse(link.expiresAt) - Date.now()
  assert.ok(expiresIn > 0 && expiresIn <= 60_000, `expires within a minute (${expiresIn} ms)`)

  // Without a session: the page (no data), and 401 on every data route.
  const page = await call(`${node.api}/`)
  assert.equal(page.status, 200)
  assert.doesNotMatch(page.body, new RegExp(node.nodeId))
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/)
  for (const path of ['/api/session', '/api/dashboard/overview', '/api/dashboard/files', '/api/dashboard/peers', '/api/messages', '/api/events']) {
    assert.equal((await call(`${node.api}${path}`)).status, 401, path)
  }

  const login = await call(link.url)
  assert.equal(login.status, 303)
  assert.equal(login.headers.get('location'), '/#overview', 'redirected to a URL without the code')
  const setCookie = login.headers.get('set-cookie') ?? ''
  assert.match(setCookie, /^dv_session=[\w-]{40,};/)
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) assert.ok(setCookie.includes(attr), `${attr} in ${setCookie}`)
  const cookie = setCookie.split(';')[0]

  const again = await call(link.url)
  assert.equal(again.status, 200, 'a used link shows the page again…')
  assert.equal(again.headers.get('set-cookie'), null, '…without a session')

  const session = JSON.parse((await call(`${node.api}/api/session`, { headers: { cookie } })).body) as { nodeId: string, csrf: string }
  assert.equal(session.nodeId, node.nodeId)
  assert.ok(session.csrf.length >= 20)
  const overview = await call(`${node.api}/api/dashboard/overview`, { headers: { cookie } })
  assert.equal(overview.status, 200)
  assert.equal(JSON.parse(overview.body).nodeId, node.nodeId)
  assert.equal(JSON.parse(overview.body).traffic.length, 24, 'a day of hours')
  const messages = JSON.parse((await call(`${node.api}/api/messages`, { headers: { cookie } })).body) as Array<{ text: string }>
  assert.deepEqual(messages.map(m => m.text), ['hello'])

  // State changes: the CSRF header is required, and a foreign page is refused even with it.
  const post = (headers: Record<string, string>): Promise<Reply> => call(`${node.api}/api/messages`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ to: '*', text: 'from the page' }) })
  const noCsrf = await post({})
  assert.equal(noCsrf.status, 403)
  assert.equal(JSON.parse(noCsrf.body).error.code, 'FORBIDDEN')
  assert.equal((await post({ 'x-dv-csrf': 'x'.repeat(32) })).status, 403, 'a wrong CSRF token')
  assert.equal((await post({ 'x-dv-csrf': session.csrf, origin: 'http://evil.example' })).status, 403, 'another site\'s page')
  assert.equal((await post({ 'x-dv-csrf': session.csrf, 'sec-fetch-site': 'cross-site' })).status, 403)
  const ok = await post({ 'x-dv-csrf': session.csrf, origin: node.api, 'sec-fetch-site': 'same-origin' })
  assert.equal(ok.status, 201, ok.body)
  const history = await runCli(['msg', 'history', '--data', dir, '--json'])
  assert.deepEqual((JSON.parse(history.stdout) as Array<{ text: string }>).map(m => m.text).sort(), ['from the page', 'hello'], 'only the page\'s own request got through')

  // A session cannot mint more links; the token can.
  assert.equal((await call(`${node.api}/api/session/link`, { method: 'POST', headers: { cookie, 'x-dv-csrf': session.csrf } })).status, 403)

  const logout = await call(`${node.api}/api/logout`, { method: 'POST', headers: { cookie, 'x-dv-csrf': session.csrf } })
  assert.equal(logout.status, 200)
  assert.match(logout.headers.get('set-cookie') ?? '', /dv_session=;.*Max-Age=0/)
  assert.equal((await call(`${node.api}/api/session`, { headers: { cookie } })).status, 401, 'the cookie is dead after logout')
})

test('a login link expires after its minute and is worth nothing after one use; sessions expire too', () => {
  let now = 1_000_000
  const store = new SessionStore({ now: () => now })
  const late = store.createLink()
  const used = store.createLink()
  const session = store.redeem(used.code)
  assert.ok(session !== undefined)
  assert.equal(store.redeem(used.code), undefined, 'single use')
  assert.equal(store.redeem('not-a-code'), undefined)
  now += 60_000
  assert.equal(store.redeem(late.code), undefined, 'expired at 60 s')
  assert.equal(store.find(session.id)?.id, session.id)
  now += store.sessionTtlMs
  assert.equal(store.find(session.id), undefined, 'the session expired')
})

test('links and sessions are bounded: the oldest goes first', () => {
  const store = new SessionStore({ maxLinks: 2, maxSessions: 2 })
  const links = [store.createLink(), store.createLink(), store.createLink()]
  assert.equal(store.redeem(links[0].code), undefined)
  const sessions = [store.redeem(links[1].code)!, store.redeem(links[2].code)!, store.redeem(store.createLink().code)!]
  assert.equal(store.find(sessions[0].id), undefined)
  assert.ok(store.find(sessions[1].id) !== undefined && store.find(sessions[2].id) !== undefined)
})
