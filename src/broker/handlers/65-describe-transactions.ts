/**
 * DescribeTransactions: v0.
 * Behavior: per transactional id, its coordinator's record: state, timeout, start time (-1 when
 * no transaction is open), producer id and epoch, and the partitions of the open transaction.
 * An id this broker does not coordinate gets NOT_COORDINATOR; an unknown one
 * TRANSACTIONAL_ID_NOT_FOUND. kafka-transactions.sh describe reads this.
 * Version notes: v0 only, flexible.
 * Authorization (as Kafka): DESCRIBE on each transactional id (else
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED); only the topics the requester may DESCRIBE are shown.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeDescribeTransactionsRequest, defaultDescribeTransactionsResponse,
  defaultDescribeTransactionsResponseTopicData as topicOut,
  defaultDescribeTransactionsResponseTransactionState as stateOut,
    encodeDescribeTransactionsResponse,
} from '../../../protocol/generated/messages/describe-transactions.js';
import type { TransactionRecord } from '../../metadata/records.js';
import { defineHandler, type RequestContext } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

function topicsOf(ctx: RequestContext, rec: TransactionRecord) {
  const byTopic = new Map<string, number[]>();
  for (const p of rec.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []),
    p.partition]);
  return [...byTopic].filter(([topic]) =>
    authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, topic))
    .map(([topic, partitions]) => ({ ...topicOut(), topic, partitions }));
}

export const handler = defineHandler({
  apiKey: 65,
  name: 'DescribeTransactions',
  minVersion: 0,
  maxVersion: 0,
  decodeRequest: decodeDescribeTransactionsRequest,
  encodeResponse: encodeDescribeTransactionsResponse,
  async handle(ctx, req) {
    const txns = ctx.services.transactions;
    const transactionStates = [];
    for (const transactionalId of req.transactionalIds) {
      const base = { ...stateOut(), transactionalId };
      if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, transactionalId)) {
        transactionStates.push({ ...base,
          errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED });
        continue;
      }
      const rec = txns.isCoordinator(transactionalId) ? await txns.get(transactionalId) : undefined;
      if (rec === undefined) transactionStates.push({ ...base,
        errorCode: ErrorCode.NOT_COORDINATOR });
      else if (rec === null) transactionStates.push({ ...base,
        errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND });
      else {
        transactionStates.push({ ...base, transactionState: rec.state,
          transactionTimeoutMs: rec.timeoutMs,
          transactionStartTimeMs: BigInt(rec.txnStartMs), producerId: BigInt(rec.producerId),
          producerEpoch: rec.producerEpoch, topics: topicsOf(ctx, rec) });
      }
    }
    return { ...defaultDescribeTransactionsResponse(), transactionStates };
  },
});
