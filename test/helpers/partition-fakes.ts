/**
 * Stand-ins for the WAL and object-storage reads of a PartitionLog, for tests of the partition
 * and leadership code that need neither: the WAL makes each batch durable at once, and nothing
 * has left the in-memory tail.
 */
import type { HistoryReader, WalPort } from '../../src/partition/partition-log.js';

/** Durable at once, with increasing LSNs. */
export class InstantWal implements WalPort {
  readonly ackOnUpload = false;
  readonly stalledNoSpace = false;
  lsnDurable = 0;
  submit(): Promise<number> {
    return Promise.resolve(++this.lsnDurable);
  }
}

/** Object storage holding nothing. */
export const emptyHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};
