// api/: the fastify HTTP API (deny-by-default access, JSON errors, streamed files).
export { startApiServer, type ApiServer, type ApiServerOptions, type ApiRoute, type ApiStats } from './server.ts'
export { PUBLIC_ROUTES } from './guard.ts'
export type { ErrorBody, ProgressLine, FileView, EntryView, HealthView, MessageView, SendResultView, PutResultView, ShortfallView, RecoverLine, ScrubLine, VersionView, PruneView } from './types.ts'
export type { NodeServices, NodeStatus, PeerStatus, NodeMetrics, DuplicateIdentity, TrafficSources, CopyRecords, RecoverRequest } from './services.ts'
export { REFUSAL_WORDS, FAILURE_WORDS, shortfallWords } from './shortfall-words.ts'
