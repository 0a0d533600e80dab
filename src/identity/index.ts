// identity/: recovery phrase → seed → node key (Ed25519) and vault key; identity.json on disk.
export { newPhrase, normalizePhrase, phraseToSeed, deriveIdentity, type Identity } from './keys.ts'
export { saveIdentity, loadIdentity, hasIdentity } from './identity-file.ts'
