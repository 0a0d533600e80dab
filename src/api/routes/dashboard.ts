// The dashboard: its static page (public/, hand-written, no build step) and the browser session
// routes. The page and its assets are public (they carry no data); everything it shows comes from
// /api/* routes, which a session cookie authorises like the token (guard.ts). A session begins only
// by redeeming a one-time login link that `distri-vault open` asked for with the token.
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { extname, join } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { z } from 'zod'
import type { NodeServices } from '../services.ts'
import { VaultError } from '../../errors.ts'
import { sessionOf } from '../guard.ts'
import { SESSION_COOKIE, readCookie, sessionCookie, type SessionStore } from '../session.ts'
import { treeUploadRoutes } from './dashboard-upload.ts'
import { treeArchiveRoutes } from './dashboard-archive.ts'

// public/ at the package root: three levels above src/api/routes/ and dist/api/routes/, two above
// the CLI's bundle, whose chunks all sit in dist/bundle/ (scripts/bundle.ts).
const PUBLIC_DIR = fileURLToPath(new URL(/\/dist\/bundle\/[^/]+$/.test(import.meta.url) ? '../../public/' : '../../../public/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}

/** No request leaves the page for anywhere but this node; nothing may frame it. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
  'x-frame-options': 'DENY'
}

interface Asset { type: string, bytes: Buffer }

/** The page's files, read once: only these names are served (no path from the URL reaches the disk). */
function loadAssets (): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = TYPES[extname(name)]
    if (type !== undefined) assets.set(name, { type, bytes: readFileSync(join(PUBLIC_DIR, name)) })
  }
  return assets
}

const loginQuery = z.object({ code: z.string().min(1).max(200).optional() })

export interface DashboardOptions {
  sessions: SessionStore
  /** The API's own URL, known once it listens. */
  apiUrl: () => string
}

export function dashboardRoutes (app: FastifyInstance, node: NodeServices, options: DashboardOptions): void {
  const assets = loadAssets()
  const page = assets.get('index.html')
  if (page === undefined) throw new VaultError('INTERNAL', `the dashboard's page is missing from ${PUBLIC_DIR}`)
  const sendPage = async (reply: FastifyReply): Promise<FastifyReply> => await reply.headers(PAGE_HEADERS).type(page.type).send(page.bytes)

  app.get('/', async (_request, reply) => await sendPage(reply))
  treeUploadRoutes(app, node)
  treeArchiveRoutes(app, node)

  app.get('/ui/:asset', async (request, reply) => {
    const asset = assets.get((request.params as { asset: string }).asset)
    if (asset === undefined || (request.params as { asset: string }).asset === 'index.html') throw new VaultError('NOT_FOUND', 'no such file of the dashboard')
    return await reply.headers(PAGE_HEADERS).type(asset.type).send(asset.bytes)
  })

  // The login link: a valid code becomes a session cookie and a redirect to a URL without it; an
  // unknown, used or expired one shows the page, which (without a session) asks for a new link.
  app.get('/login', async (request, reply) => {
    const parsed = loginQuery.safeParse(request.query)
    // Only a GET spends the code: a HEAD (a link preview) must not use up the user's link.
    const code = parsed.success && request.method === 'GET' ? parsed.data.code : undefined
    const session = code === undefined ? undefined : options.sessions.redeem(code)
    if (session === undefined) return await sendPage(reply.header('cache-control', 'no-store'))
    return await reply
      .headers({ 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' })
      .header('set-cookie', sessionCookie(session.id, Math.floor(options.sessions.sessionTtlMs / 1000)))
      .redirect('/#overview', 303)
  })

  // For `distri-vault open`: with the token only (a session cannot mint more sessions).
  app.post('/api/session/link', async (request) => {
    if (sessionOf(request) !== undefined) throw new VaultError('FORBIDDEN', 'login links are made with the API token (distri-vault open)')
    const { code, expiresAt } = options.sessions.createLink()
    return { url: `${options.apiUrl()}/login?code=${code}`, expiresAt: new Date(expiresAt).toISOString() }
  })

  // What the page needs to act: who this node is and the session's CSRF token (null with the token).
  app.get('/api/session', async (request) => {
    const session = sessionOf(request)
    return { nodeId: node.nodeId, csrf: session?.csrf ?? null, expiresAt: session === undefined ? null : new Date(session.expiresAt).toISOString() }
  })

  app.post('/api/logout', async (request, reply) => {
    const id = readCookie(request.headers.cookie, SESSION_COOKIE)
    if (sessionOf(request) !== undefined && id !== undefined) options.sessions.end(id)
    return await reply.header('set-cookie', sessionCookie('', 0)).status(200).send({ loggedOut: true })
  })
}
