// Kept messages in the node's catalog.db: every message sent or received (signature included, so
// history stays verifiable), and the outbox of direct messages not yet delivered. This module owns
// their rows; their schema is catalog/migrations.ts's (migration 5). Both bounded, oldest first out:
// the log in rows and in bytes of text, the outbox in rows.
// Texts are sealed at rest (AES-GCM under a key derived from the vault key, as the catalog seals
// file names), so catalog.db reveals no message content; rows kept in clear by older releases are
// sealed when the store opens.

import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { open, seal } from '../crypto/index.ts'
import type { MessageEnvelope } from '../protocols/index.ts'
import { toVaultError } from '../errors.ts'

export interface Message {
  id: string
  from: string
  /** A node ID, or '*' for a message to every node. */
  to: string
  text: string
  /** When the sender sent it (ISO 8601). */
  at: string
}

export interface MessageStoreLimits {
  /** Rows of the message log, at most (oldest dropped first). */
  maxHistory: number
  /**
   * Bytes of message text in the log (as stored: sealed, so each text plus 28), at most: when an
   * insert goes over, the oldest are dropped until the log holds 7/8 of it. Rows alone let members
   * fill ~6.5 GB (100,000 texts of 64 KiB).
   */
  maxTextBytes: number
  maxOutbox: number
  /** Seals texts at rest (32 bytes, derived from the vault key); without it they are kept in clear. */
  textKey?: Uint8Array
}

interface LogRow { id: string, from_id: string, to_id: string, text: string, text_sealed: Uint8Array | null, at: string, sig: string }

/** The AAD binds a sealed text to its message: a text moved to another row does not open. */
const aadOf = (id: string): Buffer => Buffer.from(`distri-vault/message/v1:${id}`)

const PRUNE_EVERY_INSERTS = 500

/** The bytes a row's text takes in the log (sealed or, without a key, in clear), as SQL. */
const TEXT_BYTES = 'COALESCE(length(text_sealed), 0) + length(CAST(text AS BLOB))'

export class MessageStore {
  private readonly limits: MessageStoreLimits
  private readonly insertLog: StatementSync
  private readonly selectHistory: StatementSync
  private readonly insertOutbox: StatementSync
  private readonly selectOutbox: StatementSync
  private readonly selectOutboxPeers: StatementSync
  private readonly deleteOutbox: StatementSync
  private readonly countOutbox: StatementSync
  private readonly trimOutbox: StatementSync
  private readonly trimLog: StatementSync
  private readonly sumTextBytes: StatementSync
  private readonly trimLogBytes: StatementSync
  private insertsSincePrune = 0
  /** The bytes of text in the log now (TEXT_BYTES summed), kept as rows come and go. */
  private textBytes: number

  constructor (db: DatabaseSync, limits: MessageStoreLimits) {
    this.limits = limits
    sealExistingTexts(db, limits.textKey)
    this.insertLog = db.prepare(`INSERT OR IGNORE INTO message_log (id, from_id, to_id, text, text_sealed, at, sig, direction)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
    this.selectHistory = db.prepare('SELECT id, from_id, to_id, text, text_sealed, at FROM message_log ORDER BY seq DESC LIMIT ?')
    this.insertOutbox = db.prepare('INSERT OR IGNORE INTO message_outbox (id, to_id) VALUES (?, ?)')
    // The outbox holds our own messages: a received one under the same ID (IDs are unique per
    // sender only) is not ours to send.
    this.selectOutbox = db.prepare(`SELECT l.id, l.from_id, l.to_id, l.text, l.text_sealed, l.at, l.sig FROM message_outbox o
      JOIN message_log l ON l.id = o.id AND l.direction = 'sent' WHERE o.to_id = ? ORDER BY o.seq LIMIT ?`)
    this.selectOutboxPeers = db.prepare('SELECT DISTINCT to_id FROM message_outbox')
    this.deleteOutbox = db.prepare('DELETE FROM message_outbox WHERE id = ?')
    this.countOutbox = db.prepare('SELECT COUNT(*) AS n FROM message_outbox')
    this.trimOutbox = db.prepare('DELETE FROM message_outbox WHERE seq IN (SELECT seq FROM message_outbox ORDER BY seq LIMIT ?)')
    // Never drop a message that still waits in the outbox: it is the outbox's only copy.
    this.trimLog = db.prepare(`DELETE FROM message_log WHERE seq <= (SELECT MAX(seq) FROM message_log) - ?
      AND id NOT IN (SELECT id FROM message_outbox)`)
    this.sumTextBytes = db.prepare(`SELECT COALESCE(SUM(${TEXT_BYTES}), 0) AS n FROM message_log`)
    // Every row older than the newest that fit in the budget goes (the outbox's excepted, as above).
    this.trimLogBytes = db.prepare(`DELETE FROM message_log WHERE seq IN (
      SELECT seq FROM (SELECT seq, SUM(${TEXT_BYTES}) OVER (ORDER BY seq DESC) AS newer FROM message_log) WHERE newer > ?)
      AND id NOT IN (SELECT id FROM message_outbox)`)
    this.textBytes = (this.sumTextBytes.get() as { n: number }).n
    if (this.textBytes > limits.maxTextBytes) this.trimBytes()
  }

  /** Drops the oldest texts until the log holds 7/8 of its byte budget (so not on every insert). */
  private trimBytes (): void {
    this.trimLogBytes.run(this.limits.maxTextBytes - Math.floor(this.limits.maxTextBytes / 8))
    this.textBytes = (this.sumTextBytes.get() as { n: number }).n
  }

  /** Keeps a message; false if one of its sender with its ID is already kept (a redelivery). */
  record (envelope: MessageEnvelope, direction: 'sent' | 'received'): boolean {
    const key = this.limits.textKey
    const sealed = key === undefined ? null : seal(key, Buffer.from(envelope.text), aadOf(envelope.id))
    try {
      const { changes } = this.insertLog.run(envelope.id, envelope.from, envelope.to, sealed === null ? envelope.text : '', sealed, envelope.at, envelope.sig, direction)
      if (changes === 0) return false
      this.textBytes += sealed === null ? Buffer.byteLength(envelope.text) : sealed.length
      if (++this.insertsSincePrune >= PRUNE_EVERY_INSERTS) {
        this.insertsSincePrune = 0
        this.trimLog.run(this.limits.maxHistory)
        this.textBytes = (this.sumTextBytes.get() as { n: number }).n
      }
      if (this.textBytes > this.limits.maxTextBytes) this.trimBytes()
      return true
    } catch (err) {
      throw toVaultError(err) // a full disk (SQLITE_FULL) is DISK_FULL; the statement left nothing
    }
  }

  /** The last `limit` messages, oldest first. */
  history (limit: number): Message[] {
    const rows = this.selectHistory.all(limit) as unknown as LogRow[]
    return rows.reverse().map(row => ({ id: row.id, from: row.from_id, to: row.to_id, text: this.textOf(row), at: row.at }))
  }

  /** Queues a kept message for delivery; returns how many were dropped to stay within bounds. */
  enqueue (id: string, to: string): number {
    this.insertOutbox.run(id, to)
    const { n } = this.countOutbox.get() as { n: number }
    const excess = n - this.limits.maxOutbox
    if (excess > 0) this.trimOutbox.run(excess)
    return Math.max(0, excess)
  }

  pendingFor (to: string, limit: number): MessageEnvelope[] {
    const rows = this.selectOutbox.all(to, limit) as unknown as LogRow[]
    return rows.map(row => ({ id: row.id, from: row.from_id, to: row.to_id, text: this.textOf(row), at: row.at, sig: row.sig }))
  }

  pendingPeers (): string[] {
    return (this.selectOutboxPeers.all() as Array<{ to_id: string }>).map(row => row.to_id)
  }

  delivered (id: string): void {
    this.deleteOutbox.run(id)
  }

  private textOf (row: LogRow): string {
    if (row.text_sealed === null) return row.text
    if (this.limits.textKey === undefined) return ''
    return open(this.limits.textKey, row.text_sealed, aadOf(row.id)).toString('utf8')
  }
}

/**
 * The migration from texts in clear (releases before sealing), the one that needs the key and so
 * runs here, not in catalog/migrations.ts (which added the sealed column): seals every clear text in one transaction, with secure_delete on so the clear text is overwritten,
 * and checkpoints the WAL so no old copy of those pages stays in it.
 */
function sealExistingTexts (db: DatabaseSync, key: Uint8Array | undefined): void {
  if (key === undefined) return
  const clear = db.prepare("SELECT seq, id, text FROM message_log WHERE text_sealed IS NULL AND text <> ''").all() as Array<{ seq: number, id: string, text: string }>
  if (clear.length === 0) return
  const { secure_delete: secureDelete } = db.prepare('PRAGMA secure_delete').get() as { secure_delete: number }
  db.exec('PRAGMA secure_delete = ON')
  const update = db.prepare("UPDATE message_log SET text = '', text_sealed = ? WHERE seq = ?")
  db.exec('BEGIN')
  try {
    for (const row of clear) update.run(seal(key, Buffer.from(row.text), aadOf(row.id)), row.seq)
    db.exec('COMMIT')
  } catch (err) {
    db.exec('ROLLBACK')
    throw err
  } finally {
    db.exec(`PRAGMA secure_delete = ${secureDelete}`)
  }
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
}
