// The one error family of distri-vault: every error a user or a peer can cause carries a
// stable string code (what scripts match on) and, where it crosses HTTP, a status.

/** Every code, in the order of docs/ERRORS.md (a test keeps the two in step). */
export const ERROR_CODES = [
  'BAD_INPUT',
  'BAD_USAGE',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'HAS_VERSIONS',
  'ALREADY_SYNCED',
  'OTHER_WRITER',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'GRANT_INVALID',
  'GRANT_EXPIRED',
  'GRANT_REPLAYED',
  'CORRUPT',
  'BAD_FRAME',
  'TOO_LARGE',
  'TRUNCATED',
  'BAD_RANGE',
  'DISK_FULL',
  'STORAGE_FULL',
  'BUSY',
  'NOT_RUNNING',
  'NOT_INITIALIZED',
  'UNAVAILABLE',
  'UNREACHABLE',
  'PEER_ERROR',
  'TIMEOUT',
  'INTERNAL'
] as const

export type ErrorCode = typeof ERROR_CODES[number]

const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  BAD_USAGE: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  HAS_VERSIONS: 409,
  ALREADY_SYNCED: 409,
  OTHER_WRITER: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  GRANT_INVALID: 403,
  GRANT_EXPIRED: 403,
  GRANT_REPLAYED: 409,
  CORRUPT: 500,
  BAD_FRAME: 400,
  TOO_LARGE: 413,
  TRUNCATED: 400,
  BAD_RANGE: 416,
  DISK_FULL: 507,
  STORAGE_FULL: 507,
  BUSY: 503,
  NOT_RUNNING: 503,
  NOT_INITIALIZED: 409,
  UNAVAILABLE: 503,
  UNREACHABLE: 503,
  PEER_ERROR: 502,
  TIMEOUT: 504,
  INTERNAL: 500
}

export class VaultError extends Error {
  readonly code: ErrorCode
  readonly status: number

  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'VaultError'
    this.code = code
    this.status = HTTP_STATUS[code]
  }
}

export function isVaultError (err: unknown): err is VaultError {
  return err instanceof VaultError
}

/** SQLite's primary result codes for "no room": SQLITE_FULL (the disk, or max_page_count). */
const SQLITE_FULL = 13

/** True for node:sqlite's error when the database could not grow (its extended codes included). */
export function isSqliteFull (err: unknown): boolean {
  const e = err as { code?: string, errcode?: number }
  return e?.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' && (e.errcode & 0xff) === SQLITE_FULL
}

/** The one errno mapping: the system errors we can name, and the code each becomes. */
const ERRNO_CODES: Record<string, ErrorCode> = {
  ENOSPC: 'DISK_FULL',
  EDQUOT: 'DISK_FULL',
  // Node's IncomingMessage fails an aborted upload with ECONNRESET (its message is 'aborted').
  ECONNRESET: 'TRUNCATED',
  ENOENT: 'NOT_FOUND',
  EACCES: 'FORBIDDEN',
  EPERM: 'FORBIDDEN',
  EROFS: 'FORBIDDEN',
  ENAMETOOLONG: 'BAD_INPUT',
  EADDRINUSE: 'BAD_INPUT'
}

/**
 * Two more, named only where the error is about a path a user gave (a put's source, an export's
 * target): ENOTDIR (a part of the path is a file, so nothing is there) and ELOOP (a symlink loop).
 * Met in the node's own files they mean its data is damaged, and stay INTERNAL.
 */
const USER_PATH_ERRNO_CODES: Record<string, ErrorCode> = { ...ERRNO_CODES, ENOTDIR: 'NOT_FOUND', ELOOP: 'BAD_INPUT' }

/**
 * Our code for a system error (by its errno code), or undefined if it is not one we name;
 * `userPath`: the error is about a path the user gave (USER_PATH_ERRNO_CODES).
 */
export function errnoCode (err: unknown, options: { userPath?: boolean } = {}): ErrorCode | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const table = options.userPath === true ? USER_PATH_ERRNO_CODES : ERRNO_CODES
  return typeof code === 'string' && Object.hasOwn(table, code) ? table[code] : undefined
}

/** What a cut connection means during an upload (the node's side, and the CLI's for a put). */
export const UPLOAD_INTERRUPTED = 'the upload was interrupted; nothing was stored'

/** Map low-level errors we can name (a full disk, a missing file) onto our codes. */
export function toVaultError (err: unknown): VaultError {
  if (err instanceof VaultError) return err
  const e = err as NodeJS.ErrnoException
  if (isSqliteFull(err)) return new VaultError('DISK_FULL', 'the disk is full: the catalog (catalog.db) cannot grow', { cause: err })
  if (e?.code === 'EACCES' && e.syscall === 'listen') return new VaultError('BAD_INPUT', `not allowed to listen there: ${e.message}`, { cause: err })
  const code = errnoCode(err)
  switch (e?.code) {
    case 'ENOSPC': case 'EDQUOT': return new VaultError('DISK_FULL', 'the disk is full', { cause: err })
    case 'ECONNRESET': return new VaultError('TRUNCATED', UPLOAD_INTERRUPTED, { cause: err })
    case 'EADDRINUSE': return new VaultError('BAD_INPUT', `address already in use: ${e.message.replace(/^listen EADDRINUSE: address already in use /, '')} (another node or program listens there; choose another port)`, { cause: err })
  }
  return new VaultError(code ?? 'INTERNAL', e?.message ?? String(err), { cause: err })
}
