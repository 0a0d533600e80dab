// The node's proof that it is the node of its data dir, for the CLI: a request carrying a challenge
// (`x-dv-challenge`, 16–128 base64url characters) is answered, whatever its route or outcome (even
// 401), with `x-dv-proof: base64url(HMAC-SHA256(token, proofInput(challenge, address, port)))`, the
// address and port being the node's end of the connection (proof-words.ts): a proof relayed by a
// process the CLI reached instead of the node names the node's address, not the one the CLI dialled.
// Only a process that read this node's api.json (mode 0600) can answer; the CLI sends its token
// only after checking it (cli/client.ts). The answer reveals nothing of the token, and a challenge
// the CLI draws afresh each time cannot have been asked before.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { CHALLENGE_HEADER, PROOF_HEADER, apiProof } from './proof-words.ts'

export { apiProof }

/** Adds the proof header to the reply of a request that carries a well-formed challenge. */
export function answerChallenge (token: string) {
  return (request: FastifyRequest, reply: FastifyReply): void => {
    const challenge = request.headers[CHALLENGE_HEADER]
    if (typeof challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(challenge)) void reply.header(PROOF_HEADER, apiProof(token, challenge, request.socket.localAddress, request.socket.localPort))
  }
}
