/**
 * AddPartitionsToTxn: v0-5.
 * Behavior: adds partitions to the producer's transaction at its coordinator (Ongoing from
 * then on). Unknown topics or partitions get UNKNOWN_TOPIC_OR_PARTITION and the rest of the
 * request OPERATION_NOT_ATTEMPTED, nothing added (as Kafka). A producer id other than the id's
 * gets INVALID_PRODUCER_ID_MAPPING, an older epoch PRODUCER_FENCED, a transaction being ended
 * CONCURRENT_TRANSACTIONS, on every partition.
 * Version notes: v0-3 (clients) carry one transaction; v2+ may get PRODUCER_FENCED (before:
 * INVALID_PRODUCER_EPOCH); v4+ (brokers, KIP-890 part 1) batch transactions, each possibly
 * verifyOnly: a check that the partitions are in the ongoing transaction (INVALID_TXN_STATE for
 * those that are not), changing nothing; v5 only adds an error (TRANSACTION_ABORTABLE) this
 * broker does not send.
 * Not implemented: authorization (Write on the TransactionalId; ClusterAction for v4+ batches)
 * belongs here, with the security work.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type AddPartitionsToTxnRequestAddPartitionsToTxnTopic as TopicIn, decodeAddPartitionsToTxnRequest,
  defaultAddPartitionsToTxnResponse,
    defaultAddPartitionsToTxnResponseAddPartitionsToTxnPartitionResult as partitionOut,
  defaultAddPartitionsToTxnResponseAddPartitionsToTxnResult as txnOut,
  defaultAddPartitionsToTxnResponseAddPartitionsToTxnTopicResult as topicOut,
    encodeAddPartitionsToTxnResponse,
} from '../../../protocol/generated/messages/add-partitions-to-txn.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { fencedErrorFor, producerIdOf } from './txn-errors.js';

interface TxnIn {
  transactionalId: string; producerId: bigint; producerEpoch: number; verifyOnly: boolean;
  topics: TopicIn[] }

async function addOne(ctx: RequestContext, t: TxnIn, version: number) {
  const parts = ctx.services.partitions;
  const flat = t.topics.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.name,
    partition })));
  const unknown = flat.map((tp) => !parts.partitionExists(tp.topic, tp.partition));
  let codes: number[];
  if (unknown.some((u) => u)) {
    codes = unknown.map((u) => u ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
      : ErrorCode.OPERATION_NOT_ATTEMPTED);
  } else {
    const r = await ctx.services.transactions.addPartitions(t.transactionalId,
      producerIdOf(t.producerId),
      t.producerEpoch, flat, t.verifyOnly);
    codes = r.partitionErrors ?? flat.map(() => fencedErrorFor(r.errorCode, version, 2));
  }
  let i = 0;
  return { ...txnOut(), transactionalId: t.transactionalId, topicResults: t.topics.map((tp) => ({
    ...topicOut(), name: tp.name, resultsByPartition: tp.partitions.map((partitionIndex) => ({
      ...partitionOut(), partitionIndex, partitionErrorCode: codes[i++]! })) })) };
}

export const handler = defineHandler({
  apiKey: 24,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeAddPartitionsToTxnRequest,
  encodeResponse: encodeAddPartitionsToTxnResponse,
  async handle(ctx, req, version) {
    const res = defaultAddPartitionsToTxnResponse();
    if (version >= 4) {
      for (const t of req.transactions) res.resultsByTransaction.push(await addOne(ctx, t,
        version));
      return res;
    }
    const one = await addOne(ctx, { transactionalId: req.v3AndBelowTransactionalId,
      producerId: req.v3AndBelowProducerId, producerEpoch: req.v3AndBelowProducerEpoch,
        verifyOnly: false,
      topics: req.v3AndBelowTopics }, version);
    return { ...res, resultsByTopicV3AndBelow: one.topicResults };
  },
});
