// atomic/: files replaced whole or not at all (temp file, fsync, rename, folder fsync). Node
// built-ins only, so the CLI can use it without loading a subsystem.
export { createAtomicFile, writeFileAtomic, writeFileAtomicSync, fsyncDir, type AtomicFile, type AtomicFileOptions } from './atomic.ts'
