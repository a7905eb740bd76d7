/**
 * InitProducerId: v0-5.
 * Behavior: idempotent producers get a new producer id (unique forever, allocated by the
 * coordinator) with epoch 0. A producer re-initialising also gets a fresh id, which is always
 * safe: its sequence numbers start again at 0 under the new id.
 * Not implemented: transactions — a transactional id gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
 * a non-retriable error, so a transactional producer fails fast and clearly.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeInitProducerIdRequest, defaultInitProducerIdResponse, encodeInitProducerIdResponse,
} from '../../../protocol/generated/messages/init-producer-id.js';
import { defineHandler, topLevelError } from '../handler.js';

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
      ctx.log.info({ transactionalId: req.transactionalId }, 'transactions are not supported');
      return { ...res, errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    }
    const producerId = await ctx.services.metadata.producers.allocate();
    return { ...res, producerId: BigInt(producerId), producerEpoch: 0 };
  },
});
