/** GroupOffsets on SQLite: the `group_offsets` table, keyed by group, topic name, partition. */
import assert from 'node:assert/strict';
import type { CommittedOffset } from '../records.js';
import type { GroupOffsets } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteWriter } from './writer.js';

export const offsetWrites = {
  offsetCommit(d: SqliteDatabase, groupId: string, offsets: CommittedOffset[]): void {
    for (const o of offsets) {
      assert.ok(Number.isSafeInteger(o.offset), `offset ${o.offset}`);
      d.s.upsertOffset.run(groupId, o.topic, o.partition, o.offset, o.leaderEpoch, o.metadata,
        o.commitTimestampMs);
    }
  },

  offsetDelete(d: SqliteDatabase, groupId: string,
    partitions: { topic: string; partition: number }[]): void {
    for (const p of partitions) d.s.deleteOffset.run(groupId, p.topic, p.partition);
  },

  offsetDeleteGroup(d: SqliteDatabase, groupId: string): void {
    d.s.deleteOffsetsOfGroup.run(groupId);
  },
};

export class SqliteGroupOffsets implements GroupOffsets {
  constructor(private readonly d: SqliteDatabase, private readonly writer: SqliteWriter) {}

  async commit(groupId: string, offsets: CommittedOffset[]): Promise<void> {
    await this.writer.run('offsetCommit', groupId, offsets);
  }

  async fetch(groupId: string): Promise<CommittedOffset[]> {
    return this.d.s.selectOffsets.all(groupId);
  }

  async delete(groupId: string, partitions: { topic: string; partition: number }[]):
    Promise<void> {
    await this.writer.run('offsetDelete', groupId, partitions);
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.writer.run('offsetDeleteGroup', groupId);
  }

  async listGroups(): Promise<string[]> {
    return this.d.s.selectOffsetGroups.all();
  }
}
