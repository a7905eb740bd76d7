/**
 * A produce refused while its partition is handed over (a graceful stop, a rebalance) is answered
 * only once the handoff is done (the log fenced), so the client's Metadata refresh that follows the
 * refusal already finds the new leader; bounded, so a handoff that never finishes still gets an
 * answer. Driven through the real PartitionLog and the produce path's appendPartition.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { appendPartition } from '../../src/broker/produce/append-partition.js';
import { produceLimits } from '../../src/limits.js';
import type { BrokerServices } from '../../src/broker/services.js';
import { type BrokerConfig, loadConfig } from '../../src/config/config.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import type { HistoryReader } from '../../src/partition/partition-log.js';
import { memoryDurability } from '../helpers/memory-wal.js';
import { PartitionManager } from '../../src/partition/partition-manager.js';

const emptyHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};

describe('a produce refused during a handoff', () => {
  let metadata: SqliteMetadata;
  let partitions: PartitionManager;
  let services: BrokerServices;

  beforeEach(() => {
    const config: BrokerConfig = { ...loadConfig([], {}), nodeId: 1 };
    metadata = new SqliteMetadata(':memory:');
    partitions = new PartitionManager(metadata, config, memoryDurability(), emptyHistory, 1,
      pino({ level: 'silent' }), Date.now);
    // appendPartition reads only the upload backlog (none here) besides the log itself.
    services = { partitions, uploader: { uploadBacklogBytes: 0, noteAppended: () => {} },
      config } as unknown as BrokerServices;
  });

  afterEach(async () => {
    await metadata.close();
  });

  async function produce(topic: Awaited<ReturnType<PartitionManager['createTopic']>>) {
    const batch = await encodeBatch({ baseTimestamp: 1, records: [{ key: null, value: Buffer.from('v') }] });
    return appendPartition(services, topic, 0, batch,
      { nowMs: 1, inflate: { remainingBytes: 1 << 20 }, inFrame: false });
  }

  it('is answered NOT_LEADER_OR_FOLLOWER once the partition is released, not before', async () => {
    const topic = await partitions.createTopic('t', 1, {});
    topic.logs[0]!.stopAppends();
    const result = await produce(topic);
    expect(result.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(result.answerAfter).toBeDefined();
    let answered = false;
    void result.answerAfter!.then(() => { answered = true; });
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(false);
    topic.logs[0]!.fence('released to 2');
    await new Promise((r) => setTimeout(r, 0));
    expect(answered).toBe(true);
  });

  it('waits at most handoffAnswerWaitMsMax, and not at all once fenced', async () => {
    const topic = await partitions.createTopic('t', 1, {});
    topic.logs[0]!.stopAppends();
    const started = performance.now();
    await (await produce(topic)).answerAfter;
    expect(performance.now() - started).toBeGreaterThanOrEqual(produceLimits.handoffAnswerWaitMsMax - 5);
    topic.logs[0]!.fence('released');
    const fenced = await produce(topic);
    expect(fenced.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect(fenced.answerAfter).toBeUndefined();
  });
});
