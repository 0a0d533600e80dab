// `get NAME|ID|CAP [-o PATH|-]`: streams the file to PATH (atomically: temp file, then rename) or stdout.
import { rmSync } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Command } from 'commander'
import { VaultError, errnoCode, toVaultError } from '../../errors.ts'
import { createAtomicFile, type AtomicFile } from '../../atomic/index.ts'
import { fitFileName, NAME_MAX_BYTES, tempPathBeside } from '../../files/local-file.ts'
import { clientFor, withCommon, type CommonOptions } from '../common.ts'
import { followJob, isLoopback, startLocalJob, type ApiClient } from '../client.ts'
import { printJson } from '../output.ts'
import { createProgress } from '../progress.ts'

interface GetFlags extends CommonOptions { output?: string, version?: string, at?: string }

export function registerGet (program: Command): void {
  withCommon(program.command('get'))
    .description('write a file (by name, ID or capability) to PATH, or to stdout with -o -')
    .argument('<ref>', 'file name, file ID (or a prefix of 8+ hex digits) or capability string')
    .option('-o, --output <path>', 'where to write it ("-" = stdout; default: the file name in the current folder)')
    .option('--version <n>', 'an older version of the name (1 = the oldest; see "versions NAME")')
    .option('--at <time>', 'the version stored at or before TIME (ISO time, or a date: the end of that day, UTC)')
    .action(async (given: string, flags: GetFlags) => {
      if (flags.output === '') throw new VaultError('BAD_USAGE', '-o needs a path (or - for stdout)')
      const client = await clientFor(flags)
      const ref = await pinVersion(client, given, flags)
      if (flags.output !== '-' && isLoopback(client.url) && process.env.DV_GET_STREAM !== '1') {
        if (await exportLocal(client, ref, flags)) return
      }
      const res = await client.send(`/api/files/${encodeURIComponent(ref)}`)
      const size = Number(res.headers['content-length'])
      const name = decodeURIComponent(String(res.headers['x-dv-name'] ?? 'file'))
      const id = String(res.headers['x-dv-id'] ?? '')
      let received = 0
      const progress = await createProgress('get', size, flags.json === true || flags.output === '-')
      // A second 'data' listener beside the pipe counts the bytes without an extra stream in the path.
      // It starts the flow, so it is attached in the same tick as the pipe: no await in between.
      const copyTo = async (dest: NodeJS.WritableStream): Promise<void> => {
        res.on('data', (chunk: Buffer) => { received += chunk.length; progress.add(chunk.length) })
        await pipeline(res, dest).catch(wrapStreamError)
      }
      const checkComplete = (): void => {
        if (received !== size) throw new VaultError('TRUNCATED', `the node sent ${received} of ${size} bytes (see the node's log)`)
      }
      try {
        if (flags.output === '-') {
          await copyTo(process.stdout)
          checkComplete()
          return
        }
        const target = await chooseTarget(flags.output, name)
        const tmp = tempPathBeside(target)
        const removeOnSignal = removeTempOnSignal(tmp)
        let file: AtomicFile | undefined
        try {
          file = await createAtomicFile(target, { tmp, createDir: false }).catch(wrapStreamError)
          await copyTo(file.handle.createWriteStream({ highWaterMark: 1024 * 1024, flush: true }))
          checkComplete()
          const mtime = new Date(String(res.headers['x-dv-mtime']))
          await file.commit(Number.isNaN(mtime.getTime()) ? undefined : mtime)
        } catch (err) {
          // rm fails too where the temp file could not be made (ENOTDIR): the first error is the one to tell.
          if (file !== undefined) await file.discard()
          else await rm(tmp, { force: true }).catch(() => {})
          throw withoutTempName(err, tmp, target)
        } finally {
          removeOnSignal()
        }
        if (flags.json === true) printJson({ id, name, size, path: target })
      } finally {
        progress.stop()
        res.destroy()
      }
    })
}

/**
 * --version N / --at TIME: the node picks that version and the rest of get reads it by its file ID,
 * so streaming, -o and the local export work for it exactly as for the newest.
 */
async function pinVersion (client: ApiClient, ref: string, flags: GetFlags): Promise<string> {
  if (flags.version === undefined && flags.at === undefined) return ref
  if (flags.version !== undefined && flags.at !== undefined) throw new VaultError('BAD_USAGE', 'give --version or --at, not both')
  if (flags.version !== undefined && !/^[1-9]\d{0,8}$/.test(flags.version)) throw new VaultError('BAD_USAGE', `--version must be a version number (1 = the oldest), got ${JSON.stringify(flags.version)}`)
  if (flags.at !== undefined && !isVersionTime(flags.at)) throw new VaultError('BAD_USAGE', `--at: "${flags.at}" is not a time: give an ISO time (2026-11-30T14:05:00Z) or a date (2026-11-30)`)
  const query = flags.version !== undefined ? `version=${encodeURIComponent(flags.version)}` : `at=${encodeURIComponent(flags.at!)}`
  const info = await client.json<{ id: string }>(`/api/files/${encodeURIComponent(ref)}/info?${query}`)
  return info.id
}

/** Whether the node will take TIME as `--at` (the rule of files/versions.ts, parseVersionTime): a bad one is bad usage here. */
function isVersionTime (text: string): boolean {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text)
  return /^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(new Date(dateOnly ? `${text}T23:59:59.999Z` : text).getTime())
}

/**
 * Where the file goes: -o PATH, -o DIR/<name> (as cp does), or ./<name>, never overwriting then.
 * A name longer than a file name can be here (255 bytes) is shortened, extension kept, and we say so.
 */
async function chooseTarget (output: string | undefined, name: string): Promise<string> {
  const isDir = output !== undefined && await stat(output).then(s => s.isDirectory(), () => false)
  // DIR/ names a folder, as for cp: one that is not there is an error, not a file of that name.
  if (output !== undefined && !isDir && output.endsWith('/')) throw new VaultError('NOT_FOUND', `no folder ${output} (create it first, or drop the trailing slash to write a file of that name)`)
  const base = fitFileName(basename(name))
  if ((output === undefined || isDir) && base !== basename(name)) {
    process.stderr.write(`note: the file's name is ${Buffer.byteLength(basename(name))} bytes, longer than a file name can be here (${NAME_MAX_BYTES}); writing it as ${JSON.stringify(base.length > 60 ? base.slice(0, 40) + '…' + base.slice(-16) : base)} (choose another with -o PATH)\n`)
  }
  const target = output === undefined ? base : isDir ? join(output, base) : output
  if (Buffer.byteLength(basename(target)) > NAME_MAX_BYTES) {
    throw new VaultError('BAD_INPUT', `the output name is too long for a file here (${Buffer.byteLength(basename(target))} bytes, at most ${NAME_MAX_BYTES}); choose a shorter one with -o PATH`)
  }
  if (output === undefined && await stat(target).then(() => true, () => false)) {
    throw new VaultError('ALREADY_EXISTS', `${target} already exists here; choose where to write with -o PATH`)
  }
  return target
}

/**
 * The node is on this machine: it writes the file itself (POST /api/files/export), which saves the
 * copy through HTTP and this process. False when the node cannot write there (another user,
 * another mount namespace, an older node): then the bytes are streamed as usual.
 */
async function exportLocal (client: ApiClient, ref: string, flags: GetFlags): Promise<boolean> {
  const info = await client.json<{ id: string, name: string, size: number, kind?: 'file' | 'tree' }>(`/api/files/${encodeURIComponent(ref)}/info`)
  if (info.kind === 'tree') { await restoreFolder(client, ref, info, flags); return true }
  const target = await chooseTarget(flags.output, info.name)
  const res = await startLocalJob(client, '/api/files/export', { ref, path: resolve(target) })
  if (res === undefined) return false
  const progress = await createProgress('get', info.size, flags.json === true)
  try {
    const result = await followJob<{ id: string, name: string, size: number }>(res, progress, 'written')
    if (flags.json === true) printJson({ id: result.id, name: result.name, size: result.size, path: target })
    return true
  } finally {
    progress.stop()
  }
}

/**
 * A folder: the node writes the whole tree at -o DIR (inside DIR when it is an existing folder, as
 * cp -r does) or at ./<name>, never over anything that exists, atomically (files/tree-restore.ts).
 */
async function restoreFolder (client: ApiClient, ref: string, info: { name: string, size: number }, flags: GetFlags): Promise<void> {
  const base = fitFileName(basename(info.name))
  const isDir = flags.output !== undefined && await stat(flags.output).then(s => s.isDirectory(), () => false)
  const target = resolve(flags.output === undefined ? base : isDir ? join(flags.output, base) : flags.output)
  if (await stat(target).then(() => true, () => false)) throw new VaultError('ALREADY_EXISTS', `${target} already exists here; choose where to write the folder with -o DIR`)
  const res = await client.send('/api/trees/export', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ref, path: target }) })
  const progress = await createProgress('get', info.size, flags.json === true)
  try {
    const result = await followJob<{ id: string, name: string, size: number, files: number, path: string }>(res, progress, 'written')
    if (flags.json === true) printJson({ id: result.id, name: result.name, size: result.size, files: result.files, path: target, kind: 'tree' })
  } finally {
    progress.stop()
  }
}

/**
 * Ctrl-C (or a SIGTERM/SIGHUP) while the download is written: the temp file is removed before the
 * process ends as the signal asks (exit 128 + signal number), so no `.part` file is left behind.
 * Returns the function that takes the handlers off again.
 */
function removeTempOnSignal (tmp: string): () => void {
  const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const
  const handlers = Object.entries(signals).map(([signal, number]) => {
    const handler = (): void => {
      rmSync(tmp, { force: true })
      process.exit(128 + number)
    }
    process.once(signal, handler)
    return () => process.off(signal, handler)
  })
  return () => { for (const off of handlers) off() }
}

/** The temp file is ours, not the user's: an error names the file they asked for instead. */
function withoutTempName (err: unknown, tmp: string, target: string): unknown {
  if (!(err instanceof Error) || !err.message.includes(tmp)) return err
  const message = err.message.replaceAll(tmp, target)
  return err instanceof VaultError ? new VaultError(err.code, message, { cause: err.cause }) : new Error(message, { cause: err })
}

/** A failed download or write, in a get's words; the code of a system error is errnoCode's. */
function wrapStreamError (err: NodeJS.ErrnoException): never {
  if (err instanceof VaultError) throw err
  if (err.code === 'EPIPE') return process.exit(0)
  // Every path written here is the user's (-o PATH and its temp file beside it): ENOTDIR is NOT_FOUND.
  const code = err.code === 'ERR_STREAM_PREMATURE_CLOSE' ? 'TRUNCATED' : errnoCode(err, { userPath: true })
  if (code === 'TRUNCATED') throw new VaultError(code, 'the download was cut off before the end (see the node\'s log)')
  if (code === 'NOT_FOUND') throw new VaultError(code, `cannot write there: ${err.message}`)
  if (code === 'BAD_INPUT' && err.code === 'ENAMETOOLONG') throw new VaultError(code, 'the output path is too long for this file system; choose a shorter one with -o PATH')
  throw toVaultError(err)
}
