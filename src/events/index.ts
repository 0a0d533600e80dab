// events/: the node's one event bus and the typed events published on it.
export { EventBus, type VaultEvents, type VaultEventName, type FileStoredEvent, type FileRemovedEvent, type PeerEvent, type MessageEvent, type AnnouncementEvent, type ProgressEvent } from './bus.ts'
