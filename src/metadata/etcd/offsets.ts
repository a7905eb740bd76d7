/**
 * GroupOffsets on etcd: `offsets/<group>/<topic>/<partition>` keys. A request larger than one
 * txn is split into several: Kafka does not promise that an OffsetCommit of many partitions is
 * all-or-nothing either.
 */
import assert from 'node:assert/strict';
import { prefixEnd } from '../../etcd/keys.js';
import {
  deleteOp, deletePrefixOp, keyOf, putOp, rangePages,
} from '../../etcd/txn.js';
import type { CommittedOffset } from '../records.js';
import type { GroupOffsets } from '../stores.js';
import { decodeOffset, encodeOffset } from './codecs.js';
import type { EtcdEngine } from './engine.js';
import { etcdKitLimits } from '../../limits.js';

export class EtcdGroupOffsets implements GroupOffsets {
  constructor(private readonly e: EtcdEngine) {}

  async commit(groupId: string, offsets: CommittedOffset[]): Promise<void> {
    for (const o of offsets) assert.ok(Number.isSafeInteger(o.offset), `offset ${o.offset}`);
    await this.e.writeChunked(offsets.map((o) =>
      putOp(this.e.keys.offset(groupId, o.topic, o.partition), encodeOffset(o))));
  }

  async fetch(groupId: string): Promise<CommittedOffset[]> {
    const prefix = this.e.keys.offsetsOfGroup(groupId);
    const offsets: CommittedOffset[] = [];
    for await (const page of rangePages(this.e.client, Buffer.from(prefix), prefixEnd(prefix))) {
      for (const kv of page) {
        const { topic, partition } = this.e.keys.topicPartitionOfOffsetKey(keyOf(kv), groupId);
        offsets.push(decodeOffset(topic, partition, kv.value));
      }
    }
    // Percent-encoding changes byte order, so sort as the SQLite engine's ORDER BY does.
    return offsets.sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1
      : a.partition - b.partition);
  }

  async delete(groupId: string, partitions: { topic: string; partition: number }[]):
    Promise<void> {
    await this.e.writeChunked(partitions.map((p) =>
      deleteOp(this.e.keys.offset(groupId, p.topic, p.partition))));
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.e.txn([], [deletePrefixOp(this.e.keys.offsetsOfGroup(groupId))], []);
  }

  /** Skip-scans `offsets/`: one page per up to rangePageKeysMax keys, jumping past each group
   *  found, so a group with many offsets costs one key read, not all of them. */
  async listGroups(): Promise<string[]> {
    const { keys } = this.e;
    const end = prefixEnd(keys.offsetsPrefix());
    const groups = new Set<string>();
    let from: Buffer = Buffer.from(keys.offsetsPrefix());
    for (;;) {
      const response = await this.e.client.kv.range({ key: from, range_end: end,
        keys_only: true, limit: etcdKitLimits.rangePageKeysMax });
      for (const kv of response.kvs) groups.add(keys.groupOfOffsetKey(keyOf(kv)));
      const last = response.kvs.at(-1);
      if (!response.more || last === undefined) break;
      from = prefixEnd(keys.offsetsOfGroup(keys.groupOfOffsetKey(keyOf(last))));
    }
    return [...groups].sort();
  }
}
