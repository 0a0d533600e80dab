// `put PATH… [--name NAME] [--replicas N]`: files, whole folders (one entry each), or stdin (`-`).
import { constants, createReadStream } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { basename, resolve } from 'node:path'
import { Transform } from 'node:stream'
import type { Command } from 'commander'
import { VaultError, type ErrorCode } from '../../errors.ts'
import { parseReplicas } from '../../node/flags.ts'
import { followJob, isLoopback, startLocalJob, type ApiClient } from '../client.ts'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { formatBytes } from '../output.ts'
import { createProgress, type Progress } from '../progress.ts'
import type { PutResultView as PutResult } from '../../api/index.ts'
import { underReplicatedWarning } from '../shortfall-text.ts'

interface PutFlags extends CommonOptions { name?: string, replicas?: string }
/** One file to upload: where it is read from and the name it gets in the vault. */
interface Upload { path: string, name: string, size?: number, mtime?: Date, folder?: boolean }

export function registerPut (program: Command): void {
  withCommon(program.command('put'))
    .description('store files or whole folders (PATH "-" reads stdin); a folder is one entry')
    .argument('<path...>', 'files or folders to store')
    .option('--name <name>', 'name in the vault (of the file or the folder)')
    .option('--replicas <n>', 'copies in all, this node counted')
    .action(async (paths: string[], flags: PutFlags) => {
      if (flags.replicas !== undefined) parseReplicas(flags.replicas)
      if (flags.name !== undefined && paths.length > 1) throw new VaultError('BAD_USAGE', '--name works with one PATH only')
      const client = await clientFor(flags)
      const uploads = await planUploads(client, paths, flags.name)
      const total = uploads.reduce((n, u) => n + (u.size ?? 0), 0)
      const progress = await createProgress('put', total, flags.json === true)
      try {
        for (const upload of uploads) {
          const result = upload.folder === true ? await putFolder(client, upload, flags.replicas, progress) : await putOne(client, upload, flags.replicas, progress)
          // The bar is cleared before a result is printed, so the terminal keeps every ID readable.
          if (flags.json === true) progress.print(process.stdout, JSON.stringify(result) + '\n')
          else progress.print(process.stdout, `${result.id}  ${result.name}${result.kind === 'tree' ? '/' : ''}  ${formatBytes(result.size)}${result.kind === 'tree' ? `  files=${result.files ?? 0}` : ''}  replicas=${result.replicas}\n`)
          if (result.underReplicated === true) {
            progress.print(process.stderr, underReplicatedWarning(result.name, result.replicas, result.target, result.shortfall))
          }
        }
      } finally {
        progress.stop()
      }
    })
}

/**
 * Checks every input before anything is sent, and reports every problem at once (one line each):
 * a path that is missing or unreadable, a name the vault cannot store, two inputs that would get
 * the same name, anything inside a folder the node could not store. Then nothing is stored.
 */
async function planUploads (client: ApiClient, paths: string[], name?: string): Promise<Upload[]> {
  // Loaded here, not at the top: the manifest module brings zod (~80 ms), which every other verb
  // (`ls`, `status`…) would pay at start for nothing.
  const { checkFileName } = await import('../../files/manifest.ts')
  const uploads: Upload[] = []
  const problems: string[] = []
  // Each problem's code: one code for them all is the error's (NOT_FOUND, TOO_LARGE), else BAD_INPUT.
  const codes: ErrorCode[] = []
  const problem = (text: string, code: ErrorCode = 'BAD_INPUT'): void => { problems.push(text); codes.push(code) }
  const named = new Map<string, string>()
  const claim = (upload: Upload): void => {
    try {
      checkFileName(upload.name)
    } catch (err) {
      problem(`${upload.path}: ${(err as Error).message}`, err instanceof VaultError ? err.code : 'BAD_INPUT')
      return
    }
    const first = named.get(upload.name)
    if (first !== undefined) problem(`${first} and ${upload.path} would both be stored as "${upload.name}" (store them one by one with --name)`)
    else named.set(upload.name, upload.path)
    uploads.push(upload)
  }
  for (const path of paths) {
    if (path === '-') {
      if (name === undefined) throw new VaultError('BAD_USAGE', 'reading stdin ("-") needs --name NAME')
      claim({ path, name })
      continue
    }
    const info = await stat(path).catch(() => null)
    if (info === null) { problem(`no such file or folder: ${path}`, 'NOT_FOUND'); continue }
    if (info.isDirectory()) {
      const folder: Upload = { path, name: name ?? basename(resolve(path)), folder: true }
      claim(folder)
      if (!isLoopback(client.url)) { problem(`${path}: a folder is read by the node itself, which is not on this machine (${client.url})`); continue }
      // One folder alone: its put checks it itself before storing anything (one walk fewer).
      if (paths.length === 1) continue
      const check = await client.json<{ problems: string[], bytes: number }>('/api/trees/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: resolve(path) }) })
      for (const text of check.problems) problem(text)
      folder.size = check.bytes
    } else if (info.isFile()) {
      const readable = await access(path, constants.R_OK).then(() => true, () => false)
      if (!readable) problem(`cannot read ${path}: permission denied`)
      else claim({ path, name: name ?? basename(path), size: info.size, mtime: info.mtime })
    } else {
      problem(`${path} is neither a file nor a folder`)
    }
  }
  if (problems.length > 0) {
    // One input: its one reason, as any error; several: every reason, then that none was stored.
    const code = codes.every(c => c === codes[0]) ? codes[0] : 'BAD_INPUT'
    throw new VaultError(code, (paths.length === 1 && problems.length === 1 ? problems : [...problems, 'nothing was stored']).join('\n'))
  }
  return uploads
}

/** A whole folder, read by the node itself (POST /api/trees/import), stored as one entry. */
async function putFolder (client: ApiClient, upload: Upload, replicas: string | undefined, progress: Progress): Promise<PutResult> {
  const res = await client.send('/api/trees/import', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path: resolve(upload.path), name: upload.name, replicas }), upload: true })
  return await followJob<PutResult>(res, progress, 'stored')
}

async function putOne (client: ApiClient, upload: Upload, replicas: string | undefined, progress: Progress): Promise<PutResult> {
  if (upload.path !== '-' && isLoopback(client.url) && process.env.DV_PUT_STREAM !== '1') {
    const done = await importLocal(client, upload, replicas, progress)
    if (done !== undefined) return done
  }
  return await streamOne(client, upload, replicas, progress)
}

/**
 * The node is on this machine: it reads the file itself (POST /api/files/import), which saves the
 * copy through this process and HTTP. Undefined when the node cannot read it (another user, another
 * mount namespace, an older node): then the bytes are streamed as usual.
 */
async function importLocal (client: ApiClient, upload: Upload, replicas: string | undefined, progress: Progress): Promise<PutResult | undefined> {
  const res = await startLocalJob(client, '/api/files/import', { path: resolve(upload.path), name: upload.name, replicas, mtime: upload.mtime?.toISOString() })
  return res === undefined ? undefined : await followJob<PutResult>(res, progress, 'stored')
}

async function streamOne (client: ApiClient, upload: Upload, replicas: string | undefined, progress: Progress): Promise<PutResult> {
  const query = new URLSearchParams({ name: upload.name })
  if (replicas !== undefined) query.set('replicas', replicas)
  if (upload.mtime !== undefined) query.set('mtime', upload.mtime.toISOString())
  // 1 MiB reads: a quarter of the system calls and buffers of the 64 KiB default.
  const source = upload.path === '-' ? process.stdin : createReadStream(upload.path, { highWaterMark: 1024 * 1024 })
  const counted = !progress.enabled
    ? source
    : source.pipe(new Transform({ transform (chunk: Buffer, _enc, done) { progress.add(chunk.length); done(null, chunk) } }))
  if (counted !== source) source.on('error', (err: Error) => counted.destroy(err))
  const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' }
  // A size of 0 may be a file whose size the kernel does not know (/proc): stream it without a length.
  if (upload.size !== undefined && upload.size > 0) headers['content-length'] = upload.size
  return await client.json<PutResult>(`/api/files?${query.toString()}`, { method: 'POST', headers, body: counted })
}
