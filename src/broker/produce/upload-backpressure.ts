/**
 * Produce backpressure on the upload backlog: once more than `uploadBacklogBytesMax` bytes are
 * appended but not yet in object storage (the store is down, full or slow), new batches are
 * refused with KAFKA_STORAGE_ERROR before anything is appended, so memory and the WAL stop
 * growing and nothing refused was stored (a retry cannot duplicate it).
 *
 * Why KAFKA_STORAGE_ERROR: it is what Kafka answers when a partition's log storage is unusable,
 * it is retriable for every client (the Java client also refreshes metadata; kafkajs and
 * librdkafka back off and resend), and it says where the problem is. The alternatives mislead:
 * NOT_ENOUGH_REPLICAS speaks of ISR, which this broker does not have; REQUEST_TIMED_OUT tells the
 * client the write may have landed; throttling is per client, not per broker. DeleteRecords
 * already answers it when an upload it waits for fails.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import type { BrokerServices } from '../services.js';

export interface BacklogRefusal {
  errorCode: number;
  errorMessage: string;
}

/** null while the backlog is within the limit; otherwise the error every new batch gets. */
export function refusalForUploadBacklog(s: BrokerServices): BacklogRefusal | null {
  const backlogBytes = s.uploader.uploadBacklogBytes;
  if (backlogBytes <= s.config.uploadBacklogBytesMax) return null;
  return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage: `${backlogBytes} bytes wait for `
    + `object storage, more than uploadBacklogBytesMax ${s.config.uploadBacklogBytesMax}; retry later` };
}
