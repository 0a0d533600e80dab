// runtime/: process-wide tuning of the JS runtime for a node that streams large files.
export { tuneHeapForStreaming, noteStreamed } from './heap.ts'
export { relaunchWithNodeFlags, NODE_FLAGS } from './relaunch.ts'
