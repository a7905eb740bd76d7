/** GroupOffsets on SQLite: the `group_offsets` table, keyed by group, topic name, partition. */
import assert from 'node:assert/strict';
import type { CommittedOffset } from '../records.js';
import type { GroupOffsets } from '../stores.js';
import type { SqliteDatabase } from './database.js';

export class SqliteGroupOffsets implements GroupOffsets {
  constructor(private readonly d: SqliteDatabase) {}

  async commit(groupId: string, offsets: CommittedOffset[]): Promise<void> {
    this.d.transaction(() => {
      for (const o of offsets) {
        assert.ok(Number.isSafeInteger(o.offset), `offset ${o.offset}`);
        this.d.s.upsertOffset.run(groupId, o.topic, o.partition, o.offset, o.leaderEpoch,
          o.metadata, o.commitTimestampMs);
      }
    });
  }

  async fetch(groupId: string): Promise<CommittedOffset[]> {
    return this.d.s.selectOffsets.all(groupId);
  }

  async delete(groupId: string, partitions: { topic: string; partition: number }[]):
    Promise<void> {
    this.d.transaction(() => {
      for (const p of partitions) this.d.s.deleteOffset.run(groupId, p.topic, p.partition);
    });
  }

  async deleteGroup(groupId: string): Promise<void> {
    this.d.s.deleteOffsetsOfGroup.run(groupId);
  }

  async listGroups(): Promise<string[]> {
    return this.d.s.selectOffsetGroups.all();
  }
}
