// Gossipsub topics of distri-vault (issue 16): messages to all and announcements, each carried as
// one JSON FloodFrame (the flood's frame; `hops` is unused there: gossipsub bounds the spread).

export const GOSSIP_MESSAGES_TOPIC = 'distri-vault/messages-to-all/1'
export const GOSSIP_ANNOUNCEMENTS_TOPIC = 'distri-vault/announcements/1'
export const GOSSIP_TOPICS = [GOSSIP_MESSAGES_TOPIC, GOSSIP_ANNOUNCEMENTS_TOPIC] as const
