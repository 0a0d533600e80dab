// The words of the API's proof of identity (api/proof.ts computes it, cli/client.ts checks it),
// in a module of their own: the CLI imports them without loading the API.

/** The request header with the CLI's random challenge (16–128 base64url characters). */
export const CHALLENGE_HEADER = 'x-dv-challenge'
/** The reply header with base64url(HMAC-SHA256(token, PROOF_CONTEXT + challenge)). */
export const PROOF_HEADER = 'x-dv-proof'
/** What the HMAC covers before the challenge (so the token's HMAC serves no other purpose). */
export const PROOF_CONTEXT = 'distri-vault api proof v1\n'
