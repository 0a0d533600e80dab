// Waiting in tests: for a condition, never for a fixed time. The one waitFor and the one
// waitForMesh of the suite (the cluster, the CLI and the net helpers re-export them).
import type { VaultNode } from '../../src/node/index.ts'

export interface WaitOptions {
  /** Fail after this long (default 15 s). */
  timeoutMs?: number
  /** Poll this often (default 20 ms). */
  intervalMs?: number
}

/**
 * Polls `check` until it gives a value other than false or undefined, and resolves with it; fails
 * with `what` in the message after the timeout.
 */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 20))
  }
}

/** A node of the cluster harness (VaultNode) or of the net helpers (a bare network and its ID). */
type MeshNode = VaultNode | { nodeId: string, network: { isConnected: (nodeId: string) => boolean } }

function isConnected (node: MeshNode, other: string): boolean {
  const network = 'networking' in node ? node.networking?.network : node.network
  return network?.isConnected(other) === true
}

/** Waits until every node of `nodes` is connected to every other one. */
export async function waitForMesh (nodes: MeshNode[], options?: WaitOptions): Promise<void> {
  await waitFor(`a full mesh of ${nodes.length} nodes`, () =>
    nodes.every(n => nodes.every(m => m === n || isConnected(n, m.nodeId))), options)
}
