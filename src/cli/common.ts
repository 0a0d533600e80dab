// Options every client verb shares (--data, --json) and the client they lead to.
import type { Command } from 'commander'
import { resolveDataDir } from '../node/index.ts'
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
