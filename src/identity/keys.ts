// From a BIP-39 phrase to every key the node uses. Deterministic on purpose: the same phrase
// always gives the same node ID and vault key, which is what makes recovery by folder work.
import { pbkdf2Sync } from 'node:crypto'
import { generateMnemonic, validateMnemonic } from '@scure/bip39'
import { wordlist } from '@scure/bip39/wordlists/english.js'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
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
  const privateKey = await generateKeyPairFromSeed('Ed25519', deriveKey(seed, SALT, 'node-key'))
  return {
    nodeId: peerIdFromPrivateKey(privateKey).toString(),
    privateKey,
    vaultKey: deriveKey(seed, SALT, 'vault-key')
  }
}
