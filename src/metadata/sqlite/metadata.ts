/**
 * The SQLite engine: every metadata store over one database in the broker's data folder, the
 * single-node default. See database.ts for its transactions and invariants, schema.ts for its
 * durability settings and migrations, writer.ts for where its writes run.
 */
import type { Metadata } from '../stores.js';
import { SqliteClientQuotas } from './client-quotas.js';
import { SqliteAclStore } from './acls.js';
import { SqliteDatabase } from './database.js';
import { SqlitePartitionLeadership } from './leadership.js';
import { SqliteGroupOffsets } from './offsets.js';
import { SqliteProducerIds } from './producers.js';
import { SqliteScramCredentials } from './scram-credentials.js';
import { SqliteSegmentIndex } from './segments.js';
import { SqliteTopicCatalog } from './topics.js';
import { SqliteTransactionStates } from './transactions.js';
import { InlineSqliteWriter, type SqliteWriter } from './writer.js';
import { WorkerSqliteWriter } from './writer-thread.js';

export { metadataFileName, metadataFilePath, schemaVersionLatest } from './schema.js';

export class SqliteMetadata implements Metadata {
  readonly topics: SqliteTopicCatalog;
  readonly leadership: SqlitePartitionLeadership;
  readonly segments: SqliteSegmentIndex;
  readonly producers: SqliteProducerIds;
  readonly offsets: SqliteGroupOffsets;
  readonly quotas: SqliteClientQuotas;
  readonly scramCredentials: SqliteScramCredentials;
  readonly acls: SqliteAclStore;
  readonly transactions: SqliteTransactionStates;
  private readonly database: SqliteDatabase;
  private readonly writer: SqliteWriter;

  /** Opens (creating and migrating if needed) the database at `filePath`; `:memory:` for tests. */
  constructor(readonly filePath: string, options: { nowMs?: () => number } = {}) {
    const nowMs = options.nowMs ?? Date.now;
    this.database = new SqliteDatabase(filePath, nowMs);
    this.writer = this.openWriter(nowMs);
    const [d, w] = [this.database, this.writer];
    this.topics = new SqliteTopicCatalog(d, w);
    this.leadership = new SqlitePartitionLeadership(d, w);
    this.segments = new SqliteSegmentIndex(d, w);
    this.producers = new SqliteProducerIds(d, w);
    this.offsets = new SqliteGroupOffsets(d, w);
    this.quotas = new SqliteClientQuotas(d, w);
    this.scramCredentials = new SqliteScramCredentials(d, w);
    this.acls = new SqliteAclStore(d, w);
    this.transactions = new SqliteTransactionStates(d, w);
  }

  clusterId(): string {
    return this.database.clusterId;
  }

  /** The durability settings in force on this connection, for the startup log and tests. */
  storageSettings(): { journalMode: string; synchronous: number; schemaVersion: number } {
    const { db, s } = this.database;
    return {
      journalMode: String(db.pragma('journal_mode', { simple: true })),
      synchronous: Number(db.pragma('synchronous', { simple: true })),
      schemaVersion: s.selectSchemaVersion.get() ?? 0,
    };
  }

  /** After every write called before it has finished (the writer closes first). */
  async close(): Promise<void> {
    try {
      await this.writer.close();
    } finally {
      this.database.close();
    }
  }

  /**
   * A file database is written by its writer thread only: this connection, which the event loop
   * reads from, turns query_only once it has migrated the schema, so a write that bypassed the
   * writer would fail rather than stall the loop. `:memory:` is written inline (writer.ts).
   */
  private openWriter(nowMs: () => number): SqliteWriter {
    const { db } = this.database;
    if (db.memory) return new InlineSqliteWriter(this.database);
    db.pragma('query_only = ON');
    return new WorkerSqliteWriter(this.filePath, nowMs);
  }
}
