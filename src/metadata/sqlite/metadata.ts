/**
 * The SQLite engine: every metadata store over one database in the broker's data folder, the
 * single-node default. See database.ts for its transactions and invariants, schema.ts for its
 * durability settings and migrations.
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

  /** Opens (creating and migrating if needed) the database at `filePath`; `:memory:` for tests. */
  constructor(readonly filePath: string, options: { nowMs?: () => number } = {}) {
    this.database = new SqliteDatabase(filePath, options.nowMs ?? Date.now);
    this.topics = new SqliteTopicCatalog(this.database);
    this.leadership = new SqlitePartitionLeadership(this.database);
    this.segments = new SqliteSegmentIndex(this.database);
    this.producers = new SqliteProducerIds(this.database);
    this.offsets = new SqliteGroupOffsets(this.database);
    this.quotas = new SqliteClientQuotas(this.database);
    this.scramCredentials = new SqliteScramCredentials(this.database);
    this.acls = new SqliteAclStore(this.database);
    this.transactions = new SqliteTransactionStates(this.database);
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

  async close(): Promise<void> {
    this.database.close();
  }
}
