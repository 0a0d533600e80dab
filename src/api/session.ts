// Browser sessions for the dashboard: `distri-vault open` asks the node (with the API token) for a
// one-time login link; following it trades the link's code for a session cookie. The long-lived
// token never reaches a URL, and a link is worth nothing once used or after its minute.
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto'

export const SESSION_COOKIE = 'dv_session'
/** The header a cookie-authenticated state-changing request must carry (the session's CSRF token). */
export const CSRF_HEADER = 'x-dv-csrf'

export interface SessionStoreOptions {
  linkTtlMs?: number
  sessionTtlMs?: number
  /** Unused links kept at most (the oldest goes first). */
  maxLinks?: number
  /** Sessions kept at most (the oldest goes first). */
  maxSessions?: number
  now?: () => number
}

export interface Session { id: string, csrf: string, createdAt: number, expiresAt: number }

interface Link { expiresAt: number }

/** Keys of the maps are SHA-256 digests of the secrets: a timing probe of a Map lookup learns nothing. */
function digest (secret: string): string {
  return createHash('sha256').update(secret).digest('base64url')
}

export class SessionStore {
  readonly linkTtlMs: number
  readonly sessionTtlMs: number
  private readonly maxLinks: number
  private readonly maxSessions: number
  private readonly now: () => number
  private readonly links = new Map<string, Link>()
  private readonly sessions = new Map<string, Session>()

  constructor (options: SessionStoreOptions = {}) {
    this.linkTtlMs = options.linkTtlMs ?? 60_000
    this.sessionTtlMs = options.sessionTtlMs ?? 12 * 3600_000
    this.maxLinks = options.maxLinks ?? 32
    this.maxSessions = options.maxSessions ?? 64
    this.now = options.now ?? Date.now
  }

  /** A new single-use login code, valid for linkTtlMs. */
  createLink (): { code: string, expiresAt: number } {
    this.prune()
    const code = randomBytes(32).toString('base64url')
    const expiresAt = this.now() + this.linkTtlMs
    this.links.set(digest(code), { expiresAt })
    while (this.links.size > this.maxLinks) this.links.delete(this.links.keys().next().value!)
    return { code, expiresAt }
  }

  /** Trades a login code for a new session; undefined when the code is unknown, used or expired. */
  redeem (code: string): Session | undefined {
    const key = digest(code)
    const link = this.links.get(key)
    this.links.delete(key)
    if (link === undefined || link.expiresAt <= this.now()) return undefined
    this.prune()
    const now = this.now()
    const session: Session = { id: randomBytes(32).toString('base64url'), csrf: randomBytes(24).toString('base64url'), createdAt: now, expiresAt: now + this.sessionTtlMs }
    this.sessions.set(digest(session.id), session)
    while (this.sessions.size > this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!)
    return session
  }

  /** The live session this cookie value names, if any. */
  find (id: string | undefined): Session | undefined {
    if (id === undefined || id === '') return undefined
    const session = this.sessions.get(digest(id))
    if (session === undefined) return undefined
    if (session.expiresAt <= this.now()) {
      this.sessions.delete(digest(id))
      return undefined
    }
    return session
  }

  end (id: string): void {
    this.sessions.delete(digest(id))
  }

  private prune (): void {
    const now = this.now()
    for (const [key, link] of this.links) if (link.expiresAt <= now) this.links.delete(key)
    for (const [key, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(key)
  }
}

/** The value of one cookie from a Cookie header (the first if repeated). */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches (session: Session, presented: string | string[] | undefined): boolean {
  if (typeof presented !== 'string') return false
  const a = Buffer.from(digest(presented))
  const b = Buffer.from(digest(session.csrf))
  return timingSafeEqual(a, b)
}

/** The Set-Cookie value that installs a session (or, with maxAgeSeconds 0, removes it). */
export function sessionCookie (value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}`
}
