// Options every client verb shares (--data, --json) and the client they lead to.
import type { Command } from 'commander'
// data-dir.ts directly, not node/index.ts: a client verb must not load libp2p, fastify and SQLite
// just to find api.json (that made every command ~0.4 s slower).
import { resolveDataDir } from '../node/data-dir.ts'
import { ApiClient } from './client.ts'

export interface CommonOptions { data?: string, json?: boolean }

export function withCommon (cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'data directory (default: $DV_DATA or ~/.distri-vault)')
    .option('--json', 'machine-readable JSON output')
}

export async function clientFor (options: CommonOptions): Promise<ApiClient> {
  return await ApiClient.fromDataDir(resolveDataDir(options.data))
}
