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
 * Authorization (as Kafka): v0-3 need WRITE on the transactional id (every partition
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED) and WRITE on each topic: a partition of a topic without
 * it gets TOPIC_AUTHORIZATION_FAILED (before the existence check), and then, as for unknown
 * partitions, the others OPERATION_NOT_ATTEMPTED and nothing is added. v4+ come from brokers:
 * CLUSTER_ACTION on the cluster, else the top-level CLUSTER_AUTHORIZATION_FAILED; their
 * transactions are then not checked per id or topic.
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
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorizedNames, mayActAsBroker, mayWriteTransactionalId } from '../authorize.js';
import { fencedErrorFor, producerIdOf } from './txn-errors.js';

interface TxnIn {
  transactionalId: string; producerId: bigint; producerEpoch: number; verifyOnly: boolean;
  topics: TopicIn[] }

/** Per partition: TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION or NONE (may add). */
function checkPartitions(ctx: RequestContext, t: TxnIn, version: number,
  flat: { topic: string; partition: number }[]): number[] {
  if (version < 4 && !mayWriteTransactionalId(ctx, t.transactionalId)) {
    return flat.map(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  }
  const writable = version >= 4 ? null : authorizedNames(ctx, AclOperation.WRITE,
    ResourceType.TOPIC, flat.map((tp) => tp.topic));
  return flat.map((tp) => writable !== null && !writable.has(tp.topic)
    ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
    : !ctx.services.partitions.partitionExists(tp.topic, tp.partition)
      ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NONE);
}

async function addOne(ctx: RequestContext, t: TxnIn, version: number) {
  const flat = t.topics.flatMap((tp) => tp.partitions.map((partition) => ({ topic: tp.name,
    partition })));
  const checked = checkPartitions(ctx, t, version, flat);
  let codes: number[];
  if (checked[0] === ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED) {
    codes = checked;
  } else if (checked.some((c) => c !== ErrorCode.NONE)) {
    codes = checked.map((c) => c !== ErrorCode.NONE ? c : ErrorCode.OPERATION_NOT_ATTEMPTED);
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
      // Only brokers send v4+ (KIP-890): Kafka fails the whole request without CLUSTER_ACTION.
      if (!mayActAsBroker(ctx)) {
        return { ...res, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED };
      }
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
