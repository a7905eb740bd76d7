/**
 * DescribeProducers: v0.
 * Behavior: per partition, the idempotent producers this broker remembers (those not yet expired):
 * producer id and epoch, last sequence, last timestamp; unknown topic or partition →
 * UNKNOWN_TOPIC_OR_PARTITION. kafka-transactions.sh describe-producers reads this.
 * Version notes: v0 only.
 * currentTxnStartOffset is the first offset of the producer's transaction open here, -1 if none.
 * Not implemented: coordinatorEpoch is always -1.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  type DescribeProducersResponsePartitionResponse as PartitionOut, decodeDescribeProducersRequest,
  defaultDescribeProducersResponse, encodeDescribeProducersResponse,
  defaultDescribeProducersResponsePartitionResponse as defaultPartitionOut,
  defaultDescribeProducersResponseProducerState as defaultProducerOut,
  defaultDescribeProducersResponseTopicResponse as defaultTopicOut,
} from '../../../protocol/generated/messages/describe-producers.js';
import type { PartitionLog } from '../../partition/partition-log.js';
import { defineHandler } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorizedNames } from '../authorize.js';

function describe(log: PartitionLog | undefined, partitionIndex: number, missingError: number): PartitionOut {
  const out = { ...defaultPartitionOut(), partitionIndex };
  if (log === undefined) return { ...out, errorCode: missingError };
  return { ...out, activeProducers: log.producers.list().map((p) => ({
    ...defaultProducerOut(), producerId: BigInt(p.producerId), producerEpoch: p.producerEpoch,
    lastSequence: p.recentBatches.at(-1)?.lastSequence ?? -1,
    lastTimestamp: BigInt(p.lastTimestampMs), coordinatorEpoch: -1,
    currentTxnStartOffset: BigInt(log.txns.openTxnStart(p.producerId)),
  })) };
}

export const handler = defineHandler({
  apiKey: 61,
  name: 'DescribeProducers',
  minVersion: 0,
  maxVersion: 0,
  decodeRequest: decodeDescribeProducersRequest,
  encodeResponse: encodeDescribeProducersResponse,
  handle(ctx, req) {
    const logs = ctx.services.partitions;
    const readable = authorizedNames(ctx, AclOperation.READ, ResourceType.TOPIC,
      req.topics.map((t) => t.name));
    return { ...defaultDescribeProducersResponse(), topics: req.topics.map((t) => ({
      ...defaultTopicOut(), name: t.name,
      partitions: t.partitionIndexes.map((i) => (readable.has(t.name)
        ? describe(logs.partitionLog(t.name, i), i, logs.missingError(t.name, i))
        : { ...defaultPartitionOut(), partitionIndex: i,
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })) })) };
  },
});
