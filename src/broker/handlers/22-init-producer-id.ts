/**
 * InitProducerId: v0-5.
 * Behavior: needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic
 * (CLUSTER_AUTHORIZATION_FAILED), as Kafka since KIP-679. Idempotent producers get a new
 * producer id (unique forever, allocated by the coordinator) with epoch 0. A producer
 * re-initialising also gets a fresh id, which is always
 * safe: its sequence numbers start again at 0 under the new id.
 * Not implemented: transactions — a transactional id gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
 * a non-retriable error, so a transactional producer fails fast and clearly.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeInitProducerIdRequest, defaultInitProducerIdResponse, encodeInitProducerIdResponse,
} from '../../../protocol/generated/messages/init-producer-id.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

export const handler = defineHandler({
  apiKey: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  decodeRequest: decodeInitProducerIdRequest,
  encodeResponse: encodeInitProducerIdResponse,
  errorResponse: topLevelError(defaultInitProducerIdResponse),
  async handle(ctx, req) {
    const res = defaultInitProducerIdResponse();
    if (req.transactionalId !== null) {
      // WRITE on the transactional id is checked (and a denial logged) even though the answer
      // is the same either way until transactions are built.
      if (!authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)) {
        return { ...res, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
      }
      ctx.log.info({ transactionalId: req.transactionalId }, 'transactions are not supported');
      return { ...res, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    }
    // Kafka (KIP-679): IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
    // (Asked in this order so that one denial is logged, for IDEMPOTENT_WRITE.)
    const { authorizer } = ctx.services;
    if (!authorizer.authorizeByResourceType(ctx, AclOperation.WRITE, ResourceType.TOPIC)
      && !authorize(ctx, AclOperation.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { ...res, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED };
    }
    const producerId = await ctx.services.metadata.producers.allocate();
    return { ...res, producerId: BigInt(producerId), producerEpoch: 0 };
  },
});
