// The contract between bench/run.ts and its sections. A section is a module bench/<name>.ts whose
// default export is a `Section`; it returns its numbers (all of them go into the JSON line) and may
// export `targets` (checked and marked in the table) and `title`.
import type { NodeProc, StartNodeOptions } from './node-proc.ts'
import type { SimpleToolResult } from './simple-tool.ts'

export type Section = (ctx: BenchContext) => Promise<Record<string, number>>

/** A bound on one returned metric: the table marks it met or missed. */
export interface Target { min?: number, max?: number, note?: string }

export interface SectionModule {
  default: Section
  title?: string
  targets?: Record<string, Target>
}

export interface BenchOptions {
  /** Rounds of each measurement: the machine is shared, so best and spread are reported. */
  repeat: number
  /** Also run the 1 GiB file (peak-RSS check). */
  big: boolean
  /** Size of the main test file in bytes (256 MiB by default). */
  fileBytes: number
  /** Run one extra, unmeasured round under `--cpu-prof` and summarise where the time goes. */
  cpuProf: boolean
}

export interface RunOptions {
  /** Node flags before the script (e.g. --cpu-prof). */
  nodeArgs?: string[]
  /** Also report the CPU time the process used (through a preloaded module). */
  cpu?: boolean
}

export interface RunResult {
  /** Wall time from spawn to exit. */
  seconds: number
  stdout: string
  /** User + system CPU seconds of the process (with `cpu`). */
  cpuSeconds?: number
}

export interface RandomFile { path: string, bytes: number, sha256: string }

export interface BenchContext {
  repoRoot: string
  /** The built CLI, dist/cli/main.js. */
  cli: string
  /** The Node binary running the bench (Node 24 from node_modules/.bin). */
  node: string
  /** Scratch folder for this run (under .bench/ in the repo); removed at the end. */
  workDir: string
  /** Kept across runs (CPU profiles): .bench/keep/ */
  keepDir: string
  options: BenchOptions
  /** Progress notes, on stderr (stdout carries the table and the JSON line). */
  log: (message: string) => void
  /** A fresh folder under workDir. */
  tempDir: (prefix: string) => Promise<string>
  /** A random (incompressible, dedup-free) file of `bytes`, made once per size and variant per run. */
  randomFile: (bytes: number, variant?: number) => Promise<RandomFile>
  /** One measurement of the "simple tool" limit over `file` (put side and get side), in a child process. */
  simpleTool: (file: RandomFile) => Promise<SimpleToolResult>
  /** Starts a node on a fresh (or given) data dir; it is stopped at the end of the run whatever happens. */
  startNode: (options?: StartNodeOptions) => Promise<NodeProc>
  /** Runs the CLI (`dist/cli/main.js ...args`) to completion and times it; rejects on a non-zero exit. */
  runCli: (args: string[], options?: RunOptions) => Promise<RunResult>
  /** Runs the bench's Node binary with `args` to completion and times it. */
  runNode: (args: string[], options?: RunOptions) => Promise<RunResult>
  /** Runs `fn` at the end of the run, also after a failure or Ctrl-C. */
  onCleanup: (fn: () => Promise<void> | void) => void
  /** Prints a readable table to stdout. */
  table: (title: string, header: string[], rows: Array<Array<string | number>>) => void
  /** Free bytes on the disk of workDir. */
  freeBytes: () => Promise<number>
}
