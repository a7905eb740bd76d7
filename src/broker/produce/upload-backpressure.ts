/**
 * Produce backpressure on the upload backlog: once more than `uploadBacklogBytesMax` bytes are
 * appended but not yet in object storage (the store is down, full or slow), new batches are
 * refused with KAFKA_STORAGE_ERROR before anything is appended, so memory and the WAL stop
 * growing and nothing refused was stored (a retry cannot duplicate it).
 *
 * Why KAFKA_STORAGE_ERROR (56): it is what Kafka answers when a partition's log storage is
 * unusable, it is marked retriable in the protocol, so clients back off and resend (the Java
 * client also refreshes metadata; kafkajs lists it as retriable), and it names the cause. The
 * alternatives mislead: NOT_ENOUGH_REPLICAS speaks of an ISR this broker does not have;
 * REQUEST_TIMED_OUT tells the client the write may have landed; quotas delay one client with
 * throttle_time_ms, while this is the broker's own storage falling behind. DeleteRecords already
 * answers KAFKA_STORAGE_ERROR when an upload it waits for fails.
 *
 * The check comes before the batch is validated or appended, and only new batches pay it: one
 * field read and a compare per partition. A request may pass for some partitions and be refused
 * for later ones once its own batches cross the limit; each partition's answer says which.
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
