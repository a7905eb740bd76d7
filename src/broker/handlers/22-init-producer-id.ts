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
 * Not implemented: transactional id authorization (Write on the TransactionalId resource) belongs
 * here before the coordinator call, with the security work.
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeInitProducerIdRequest, defaultInitProducerIdResponse, encodeInitProducerIdResponse,
} from '../../../protocol/generated/messages/init-producer-id.js';
import { defineHandler, topLevelError } from '../handler.js';
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
      const producerId = await ctx.services.metadata.producers.allocate();
      return { ...res, producerId: BigInt(producerId), producerEpoch: 0 };
    }
    if (req.transactionalId === '') return { ...res, errorCode: ErrorCode.INVALID_REQUEST };
    const out = await ctx.services.transactions.initProducerId(req.transactionalId,
      req.transactionTimeoutMs,
      { producerId: Number(req.producerId), producerEpoch: req.producerEpoch });
    return { ...res, errorCode: fencedErrorFor(out.errorCode, version, 4),
      producerId: BigInt(out.producerId),
      producerEpoch: out.producerEpoch };
  },
});
