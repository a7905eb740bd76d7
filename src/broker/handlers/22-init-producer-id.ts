/**
 * InitProducerId: v0-5.
 * Behavior: without a transactional id, an idempotent producer gets a new producer id (unique
 * forever, allocated by the metadata store) with epoch 0; re-initialising also gets a fresh id,
 * which is always safe: its sequence numbers start again at 0 under the new id. With a
 * transactional id, the transaction coordinator answers (txn/transaction-coordinator.ts): the
 * id's producer id with its epoch bumped, which fences every older instance; an ongoing
 * transaction of the old instance is aborted first (CONCURRENT_TRANSACTIONS until it is, which
 * the client retries). NOT_COORDINATOR on a broker that does not coordinate the id;
 * INVALID_TRANSACTION_TIMEOUT outside (0, transaction.max.timeout.ms]; INVALID_REQUEST for an
 * empty transactional id.
 * Version notes: v3+ may name the current producer id and epoch (KIP-360): a mismatch is
 * PRODUCER_FENCED; before v4 PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH.
 * Authorization: without a transactional id, IDEMPOTENT_WRITE on the cluster or WRITE on some
 * topic (CLUSTER_AUTHORIZATION_FAILED), as Kafka since KIP-679; with one, WRITE on the
 * transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeInitProducerIdRequest, defaultInitProducerIdResponse, encodeInitProducerIdResponse,
} from '../../../protocol/generated/messages/init-producer-id.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';
import { fencedErrorFor } from './txn-errors.js';

export const handler = defineHandler({
  apiKey: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeInitProducerIdRequest,
  encodeResponse: encodeInitProducerIdResponse,
  errorResponse: topLevelError(defaultInitProducerIdResponse),
  async handle(ctx, req, version) {
    const res = defaultInitProducerIdResponse();
    if (req.transactionalId === null) {
      // Kafka (KIP-679): IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
      // (Asked in this order so that one denial is logged, for IDEMPOTENT_WRITE.)
      const { authorizer } = ctx.services;
      if (!authorizer.authorizeByResourceType(ctx, AclOperation.WRITE, ResourceType.TOPIC)
        && !authorize(ctx, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME)) {
        return { ...res, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED };
      }
      const producerId = await ctx.services.metadata.producers.allocate();
      return { ...res, producerId: BigInt(producerId), producerEpoch: 0 };
    }
    if (req.transactionalId === '') return { ...res, errorCode: ErrorCode.INVALID_REQUEST };
    if (!authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) {
      return { ...res, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    }
    const out = await ctx.services.transactions.initProducerId(req.transactionalId,
      req.transactionTimeoutMs,
      { producerId: Number(req.producerId), producerEpoch: req.producerEpoch });
    return { ...res, errorCode: fencedErrorFor(out.errorCode, version, 4),
      producerId: BigInt(out.producerId),
      producerEpoch: out.producerEpoch };
  },
});
