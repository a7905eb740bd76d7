/**
 * Produce, a transactional batch: before it is appended, the partition leader checks with the
 * transaction's coordinator state that the partition is in the producer's ongoing transaction
 * (KIP-890 part 1, the leader's verification), reading the transaction record from the metadata
 * store (written durably by the coordinator before it answered AddPartitionsToTxn). A batch that
 * continues a transaction already verified here (same producer and epoch, still open) is not
 * checked again.
 *
 * Kafka's answers: not in the transaction (or none ongoing) → INVALID_TXN_STATE; an older epoch
 * → INVALID_PRODUCER_EPOCH; another producer id or an unknown transactional id →
 * INVALID_PRODUCER_ID_MAPPING; a transaction being ended → CONCURRENT_TRANSACTIONS (retriable);
 * a transactional batch in a request without a transactional id → INVALID_RECORD.
 *
 * A marker noted for the producer while the check awaited means the transaction ended meanwhile:
 * the batch would land after its marker, outside any transaction, and hold the last stable
 * offset forever; it is refused (INVALID_TXN_STATE), as Kafka's verification guard does.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import { readBatchHeader, BATCH_HEADER_BYTES } from '../../../protocol/records/batch-header.js';
import type { TopicEntry } from '../../partition/partition-manager.js';
import type { BrokerServices } from '../services.js';

export interface TxnVerification {
  /** NONE: append; anything else: refuse the batch with it. */
  errorCode: number;
  /** Call right before appending: NONE if nothing changed during the check. */
  recheck: () => number;
}

const admitted: TxnVerification = { errorCode: ErrorCode.NONE, recheck: () => ErrorCode.NONE };

/**
 * The verification of a batch: `admitted` at once (not transactional, or continuing a verified
 * transaction), a refusal at once, or a promise of the coordinator's answer. Only the last makes
 * Produce await, so a non-transactional append stays synchronous from the handler's start (the
 * order of pipelined requests is the order of their appends).
 */
export function verifyTransactionalBatch(s: BrokerServices, transactionalId: string | null,
  topic: TopicEntry | undefined, partition: number,
  records: Buffer | null): TxnVerification | Promise<TxnVerification> {
  const log = topic?.logs[partition];
  if (log === undefined || records === null || records.length < BATCH_HEADER_BYTES) return admitted;
  const h = readBatchHeader(records, 0);
  // Control batches are refused by validation.
  if (!h.isTransactional || h.isControl) return admitted;
  if (transactionalId === null) {
    return { errorCode: ErrorCode.INVALID_RECORD, recheck: () => ErrorCode.INVALID_RECORD };
  }
  const producerId = Number(h.producerId);
  if (log.txns.continuesOpenTxn(producerId, h.producerEpoch)) return admitted;
  const markersBefore = log.txns.markerCount(producerId);
  return s.transactions.verify(transactionalId, producerId, h.producerEpoch,
    { topic: topic!.record.name, partition }).then((errorCode) => ({ errorCode,
    recheck: () => log.txns.markerCount(producerId) === markersBefore
      ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE }));
}
