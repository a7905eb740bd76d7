/**
 * When the WAL's disk is full, the WAL rejects every entry it has not written (the failed group
 * and all queued behind it) with WalNoSpaceError. The partition log must then take those batches'
 * offsets back — the log stays contiguous, nothing rejected is readable — forget their producer
 * sequences (a retry is appended, not answered as a duplicate of data that does not exist), fail
 * duplicates that were waiting on them, and refuse appends with KAFKA_STORAGE_ERROR while the WAL
 * is stalled. The WAL here is a fake whose outcomes the test decides (fault injection only); the
 * real WAL's side is in test/storage/wal/no-space.test.ts, the whole path in
 * test/e2e/wal-disk-full.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { validateBatch } from '../../protocol/records/batch-header.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { WalNoSpaceError } from '../../storage/wal/errors.js';
import {
  type AppendOutcome, type HistoryReader, PartitionLog,
} from '../../src/partition/partition-log.js';
import { MemoryWal, memoryDurability } from '../helpers/memory-wal.js';

const noHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};
const settings = { messageBytesMax: 1 << 20, logAppendTime: false };
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

async function append(log: PartitionLog, count: number,
  producer?: { id: bigint; seq: number }): Promise<AppendOutcome> {
  const batch = await encodeBatch({ baseTimestamp: 1,
    records: Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) })),
    ...(producer ? { producerId: producer.id, producerEpoch: 0, baseSequence: producer.seq } : {}) });
  const check = validateBatch(batch, 0, 'client');
  if (!check.ok) throw new Error(check.detail);
  return log.append(batch, check.header, settings, 1);
}

/** A log over a WAL whose every append waits until the test settles it. */
function newLog(wal: MemoryWal): PartitionLog {
  return new PartitionLog('t-id', 't', 0, 0, { logStartOffset: 0, indexedEndOffset: 0, producers: [] },
    memoryDurability(wal).forPartition('t-id', 0), noHistory);
}

function durableOf(outcome: AppendOutcome): Promise<void> {
  if (outcome.kind === 'error') throw new Error(outcome.detail);
  return outcome.durable;
}

describe('PartitionLog on a full WAL disk', () => {
  it('rolls back the batches the WAL did not write, and the log stays contiguous', async () => {
    const wal = new MemoryWal('held');
    const log = newLog(wal);
    const a = durableOf(await append(log, 3)); // offsets 0-2
    const b = durableOf(await append(log, 2)); // 3-4, in the group that fails
    const c = durableOf(await append(log, 1)); // 5, queued behind it
    wal.writeNext();
    await a;
    wal.fillDisk();
    await expect(b).rejects.toBeInstanceOf(WalNoSpaceError);
    await expect(c).rejects.toBeInstanceOf(WalNoSpaceError);
    expect({ next: log.nextOffset, hw: log.highWatermark, tail: log.tailSizeBytes > 0 })
      .toEqual({ next: 3, hw: 3, tail: true });

    const refused = await append(log, 1);
    expect(refused).toMatchObject({ kind: 'error', error: 'KAFKA_STORAGE_ERROR' });
    expect(log.nextOffset).toBe(3);

    wal.stalledNoSpace = false; // space is back
    const d = await append(log, 4);
    expect(d).toMatchObject({ kind: 'appended', baseOffset: 3 });
    wal.writeNext();
    await durableOf(d);
    expect(log.highWatermark).toBe(7);
    const read = await log.read(0, 1 << 20, true);
    if (read.kind !== 'ok') throw new Error(read.kind);
    expect(read.batches).toHaveLength(2); // a and d: nothing of b or c
  });

  it('forgets rolled-back producer sequences and fails duplicates waiting on them', async () => {
    const wal = new MemoryWal('held');
    const log = newLog(wal);
    const first = await append(log, 2, { id: 7n, seq: 0 });
    wal.writeNext();
    await durableOf(first);
    const lost = await append(log, 2, { id: 7n, seq: 2 }); // offsets 2-3, never written
    const retry = await append(log, 2, { id: 7n, seq: 2 }); // the client's retry while in flight
    expect(retry).toMatchObject({ kind: 'duplicate', baseOffset: 2 });
    const lostDurable = durableOf(lost);
    const retryDurable = durableOf(retry);
    wal.fillDisk();
    await expect(lostDurable).rejects.toBeInstanceOf(WalNoSpaceError);
    await expect(retryDurable).rejects.toBeInstanceOf(WalNoSpaceError);

    wal.stalledNoSpace = false;
    // Another producer takes offsets 2-4; the retry of seq 2 is then appended anew, not answered
    // with offsets 2-3, which now hold the other producer's records.
    const other = await append(log, 3);
    expect(other).toMatchObject({ kind: 'appended', baseOffset: 2 });
    const again = await append(log, 2, { id: 7n, seq: 2 });
    expect(again).toMatchObject({ kind: 'appended', baseOffset: 5 });
    wal.writeNext();
    wal.writeNext();
    await Promise.all([durableOf(other), durableOf(again)]);
    expect(log.highWatermark).toBe(7);
    await settle();
  });
});
