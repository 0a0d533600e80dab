// From a BIP-39 phrase to every key the node uses. Deterministic on purpose: the same phrase
// always gives the same node ID and vault key, which is what makes recovery by folder work.
import { createPrivateKey, createPublicKey, pbkdf2Sync } from 'node:crypto'
import { generateMnemonic, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { deriveKey } from '../crypto/index.ts'
import { VaultError } from '../errors.ts'

export interface Identity {
  nodeId: string
  /** Ed25519 key: the libp2p identity and the signer of messages. */
  privateKey: PrivateKey
  /** 32-byte root of every file key of this owner. */
  vaultKey: Buffer
}

const SALT = 'distri-vault/identity/v1'

export function newPhrase (): string {
  return generateMnemonic(wordlist, 256)
}

export function normalizePhrase (text: string): string {
  const phrase = text.trim().toLowerCase().split(/\s+/).join(' ')
  if (phrase.split(' ').length !== 24 || !validateMnemonic(phrase, wordlist)) {
    throw new VaultError('BAD_INPUT', 'not a valid 24-word recovery phrase (check the words and their order)')
  }
  return phrase
}

/**
 * BIP-39's seed: PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" (no passphrase), of the NFKD
 * phrase. The same bytes as @scure/bip39's mnemonicToSeedSync, from node:crypto: ~1 ms instead of
 * ~100 ms of JavaScript hashing per init (the suite makes hundreds of identities).
 */
export function phraseToSeed (phrase: string): Buffer {
  return pbkdf2Sync(Buffer.from(normalizePhrase(phrase).normalize('NFKD'), 'utf8'), 'mnemonic', 2048, 64, 'sha512')
}

export async function deriveIdentity (seed: Uint8Array): Promise<Identity> {
  const privateKey = ed25519FromSeed(deriveKey(seed, SALT, 'node-key'))
  return {
    nodeId: peerIdFromPrivateKey(privateKey).toString(),
    privateKey,
    vaultKey: deriveKey(seed, SALT, 'vault-key')
  }
}

/** PKCS#8 DER of an Ed25519 private key, up to its 32-byte seed (RFC 8410). */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/**
 * The libp2p Ed25519 key of a 32-byte seed: the same key as @libp2p/crypto's
 * generateKeyPairFromSeed('Ed25519', seed) (test/identity pins it), with the public key computed
 * by node:crypto instead of @noble/curves' JavaScript, whose first use builds its tables (~0.1
 * CPU-s on every node start and every CLI verb that opens the identity).
 */
export function ed25519FromSeed (seed: Uint8Array): PrivateKey {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const publicKey = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32)
  return privateKeyFromRaw(Buffer.concat([seed, publicKey]))
}
