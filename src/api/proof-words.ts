// The words of the API's proof of identity and the proof itself (api/proof.ts answers with it,
// cli/client.ts checks it), in a module of their own: the CLI imports them without loading the API.

/** The request header with the CLI's random challenge (16–128 base64url characters). */
export const CHALLENGE_HEADER = 'x-dv-challenge'
/** The reply header with base64url(HMAC-SHA256(token, proofInput(…))). */
export const PROOF_HEADER = 'x-dv-proof'
/** What the HMAC covers before the challenge (so the token's HMAC serves no other purpose). */
export const PROOF_CONTEXT = 'distri-vault api proof v2\n'

/**
 * What the HMAC covers: the context, the challenge and the address the node was reached at (its
 * end of the TCP connection, as the node sees it and as the CLI dialled it). A process the CLI
 * reached instead of the node cannot pass on a proof it got from the node at another address.
 * IPv4-mapped IPv6 addresses (a node listening on "::") are spelled as IPv4.
 */
export function proofInput (challenge: string, address: string | undefined, port: number | undefined): string {
  const host = (address ?? '').toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
  return `${PROOF_CONTEXT}${challenge}\n${host} ${port ?? ''}`
}

/**
 * The proof for one challenge reached at address:port: base64url(HMAC-SHA256(token, proofInput(…))).
 * node:crypto through getBuiltinModule, not `import`: an ES import of a builtin reads every export,
 * and node:crypto's webcrypto getters would load webcrypto into every CLI verb (startup-cost.test.ts).
 */
export function apiProof (token: string, challenge: string, address: string | undefined, port: number | undefined): string {
  const { createHmac } = process.getBuiltinModule('node:crypto')
  return createHmac('sha256', token).update(proofInput(challenge, address, port)).digest('base64url')
}
