/**
 * A stand-in for the object-storage reads of a PartitionLog, for tests of the partition and
 * leadership code that need none: nothing has left the in-memory tail.
 */
import type { HistoryReader } from '../../src/partition/partition-log.js';

/** Object storage holding nothing. */
export const emptyHistory: HistoryReader = {
  read: async (_topicId, _partition, offset) => ({ chunks: [], sizeBytes: 0, nextOffset: offset }),
};
