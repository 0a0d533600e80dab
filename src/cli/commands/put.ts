// `put PATH… [--name NAME] [--replicas N]`: files, whole folders, or stdin (`-`), streamed.
import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { basename, join, relative, resolve } from 'node:path'
import { Transform } from 'node:stream'
import type { Command } from 'commander'
import { VaultError } from '../../errors.ts'
import { parseReplicas } from '../../node/flags.ts'
import { followJob, isLoopback, startLocalJob, type ApiClient } from '../client.ts'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { formatBytes } from '../output.ts'
import { createProgress, type Progress } from '../progress.ts'

interface PutFlags extends CommonOptions { name?: string, replicas?: string }
interface PutResult { id: string, name: string, size: number, replicas: number, target: number | 'all', underReplicated?: boolean }
/** One file to upload: where it is read from and the name it gets in the vault. */
interface Upload { path: string, name: string, size?: number, mtime?: Date }

export function registerPut (program: Command): void {
  withCommon(program.command('put'))
    .description('store files or whole folders (PATH "-" reads stdin)')
    .argument('<path...>', 'files or folders to store')
    .option('--name <name>', 'name in the vault (a folder: the prefix of its files)')
    .option('--replicas <n>', 'copies in all, this node counted')
    .action(async (paths: string[], flags: PutFlags) => {
      if (flags.replicas !== undefined) parseReplicas(flags.replicas)
      if (flags.name !== undefined && paths.length > 1) throw new VaultError('BAD_USAGE', '--name works with one PATH only')
      const uploads = await planUploads(paths, flags.name)
      const client = await clientFor(flags)
      const total = uploads.reduce((n, u) => n + (u.size ?? 0), 0)
      const progress = await createProgress('put', total, flags.json === true)
      try {
        for (const upload of uploads) {
          const result = await putOne(client, upload, flags.replicas, progress)
          // The bar is cleared before a result is printed, so the terminal keeps every ID readable.
          if (flags.json === true) progress.print(process.stdout, JSON.stringify(result) + '\n')
          else progress.print(process.stdout, `${result.id}  ${result.name}  ${formatBytes(result.size)}  replicas=${result.replicas}\n`)
          if (result.underReplicated === true) {
            progress.print(process.stderr, `warning: ${result.name} is under-replicated: ${result.replicas} of ${result.target} copies (not enough peers); the missing copies are made as soon as peers appear\n`)
          }
        }
      } finally {
        progress.stop()
      }
    })
}

/** Checks every path before anything is sent, so a typo in the third path stores nothing. */
async function planUploads (paths: string[], name?: string): Promise<Upload[]> {
  const uploads: Upload[] = []
  for (const path of paths) {
    if (path === '-') {
      if (name === undefined) throw new VaultError('BAD_USAGE', 'reading stdin ("-") needs --name NAME')
      uploads.push({ path, name })
      continue
    }
    const info = await stat(path).catch(() => null)
    if (info === null) throw new VaultError('NOT_FOUND', `no such file or folder: ${path}`)
    if (info.isDirectory()) {
      const prefix = name ?? basename(resolve(path))
      for await (const file of walk(path)) {
        const fileInfo = await stat(file)
        uploads.push({ path: file, name: `${prefix}/${relative(path, file).split('\\').join('/')}`, size: fileInfo.size, mtime: fileInfo.mtime })
      }
    } else if (info.isFile()) {
      uploads.push({ path, name: name ?? basename(path), size: info.size, mtime: info.mtime })
    } else {
      throw new VaultError('BAD_INPUT', `${path} is neither a file nor a folder`)
    }
  }
  return uploads
}

async function * walk (dir: string): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true })
  entries.sort((a, b) => a.name.localeCompare(b.name))
  for (const entry of entries) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) yield * walk(full)
    else if (entry.isFile()) yield full
    else if (entry.isSymbolicLink()) {
      // A link to a file is stored as that file; links to folders are not followed (no loops).
      if ((await stat(full).catch(() => null))?.isFile() === true) yield full
      else process.stderr.write(`warning: skipped ${full}: a link to a folder or to nothing\n`)
    }
  }
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
