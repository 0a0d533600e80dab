// Who may talk to the API, decided once per request before any route runs: the request line must be
// a plain path, the Host must be a name this API answers on (DNS rebinding), a state-changing
// request must not come from another site's page (Origin, Sec-Fetch-Site), and every route needs
// the bearer token unless the ROUTER matched one of the few public routes below. The decision uses
// what fastify matched, never the raw URL, so no spelling of a path can change it.
import { networkInterfaces } from 'node:os'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { VaultError } from '../errors.ts'
import { bearerAuth } from './auth.ts'
import { answerChallenge } from './proof.ts'
import { CSRF_HEADER, SESSION_COOKIE, csrfMatches, readCookie, type Session, type SessionStore } from './session.ts'

/**
 * Routes answered without the token, as `METHOD /route-pattern`: counts for Prometheus (no name, ID
 * or content), and the dashboard's static page and assets and its login link (no data: the page
 * fetches everything it shows from token- or session-guarded routes). Anything not here, unmatched
 * URLs (404) included, needs the token or a session.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  'GET /metrics', 'HEAD /metrics',
  'GET /', 'HEAD /', 'GET /ui/:asset', 'HEAD /ui/:asset', 'GET /login', 'HEAD /login'
])

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** Whether the route fastify matched for this request is on the public list. */
export function isPublicRoute (request: FastifyRequest): boolean {
  const { method, url } = request.routeOptions
  return url !== undefined && PUBLIC_ROUTES.has(`${String(method)} ${url}`)
}

/**
 * The Host values the API answers to (lower case): loopback names and the listen address, each with
 * the bound port (and bare when the port is 80). A wildcard listen address adds every address of
 * this machine's interfaces, since clients elsewhere reach it by one of those.
 */
export function allowedHosts (listenHost: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '::1', listenHost.toLowerCase()])
  if (listenHost === '0.0.0.0' || listenHost === '::') {
    for (const addresses of Object.values(networkInterfaces())) {
      for (const a of addresses ?? []) names.add(a.address.toLowerCase())
    }
  }
  names.delete('0.0.0.0')
  names.delete('::')
  const hosts = new Set<string>()
  for (const name of names) {
    const host = name.includes(':') ? `[${name}]` : name
    hosts.add(`${host}:${port}`)
    if (port === 80) hosts.add(host)
  }
  return hosts
}

/** The one Host header of the request, or undefined when there is none or more than one. */
function singleHost (request: FastifyRequest): string | undefined {
  const raw = request.raw.rawHeaders
  let host: string | undefined
  let count = 0
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'host') { host = raw[i + 1]; count++ }
  }
  return count === 1 ? host?.trim().toLowerCase() : undefined
}

/** Refuses a state-changing request sent by a page of another site (a browser adds these headers). */
function checkBrowserOrigin (request: FastifyRequest, hosts: Set<string>): void {
  if (!STATE_CHANGING.has(request.method)) return
  const origin = request.headers.origin?.toLowerCase()
  if (origin !== undefined && !(origin.startsWith('http://') && hosts.has(origin.slice('http://'.length)))) {
    throw new VaultError('FORBIDDEN', 'requests from another site\'s page are refused (Origin)')
  }
  // Only the API's own pages ("same-origin") and the user's own navigation ("none") may change
  // anything; "same-site" is another port of this host, "cross-site" any other page.
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new VaultError('FORBIDDEN', 'requests from another site\'s page are refused (Sec-Fetch-Site)')
  }
}

export interface GuardOptions {
  token: string
  /** The allowed Host values; known only once the server listens (port 0 picks one). */
  hosts: () => Set<string>
  /** The dashboard's browser sessions: a session cookie authorises the same routes as the token. */
  sessions?: SessionStore
}

const sessionOfRequest = new WeakMap<FastifyRequest, Session>()

/** The browser session a request was authorised by (undefined: the bearer token, or a public route). */
export function sessionOf (request: FastifyRequest): Session | undefined {
  return sessionOfRequest.get(request)
}

/**
 * A request without an Authorization header may be authorised by a session cookie instead; a
 * state-changing one must then also carry the session's CSRF token in a header, which no other
 * site's page can read or set. Returns false when there is no usable session (the token decides).
 */
function sessionAuth (request: FastifyRequest, sessions: SessionStore | undefined): boolean {
  if (sessions === undefined || request.headers.authorization !== undefined) return false
  const session = sessions.find(readCookie(request.headers.cookie, SESSION_COOKIE))
  if (session === undefined) return false
  if (STATE_CHANGING.has(request.method) && !csrfMatches(session, request.headers[CSRF_HEADER])) {
    throw new VaultError('FORBIDDEN', `a request that changes anything needs the session's ${CSRF_HEADER} header`)
  }
  sessionOfRequest.set(request, session)
  return true
}

/** The onRequest hook that applies all of the above; it throws the VaultError to answer with. */
export function requestGuard (options: GuardOptions) {
  const auth = bearerAuth(options.token)
  const prove = answerChallenge(options.token)
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // First, so that even a refusal below carries it: the CLI checks it before sending its token.
    prove(request, reply)
    // Absolute-form targets ("GET http://host/api/…") are for proxies; their authority would
    // override Host, so they are refused rather than interpreted.
    if (!request.raw.url?.startsWith('/')) throw new VaultError('BAD_INPUT', 'the request target must be a path starting with "/"')
    const hosts = options.hosts()
    const host = singleHost(request)
    if (host === undefined || !hosts.has(host)) {
      throw new VaultError('FORBIDDEN', 'unknown Host: use the address the API listens on (e.g. the url in api.json)')
    }
    checkBrowserOrigin(request, hosts)
    if (isPublicRoute(request) || sessionAuth(request, options.sessions)) return
    await auth(request, reply)
  }
}
