/**
 * EndTxn: v0-4.
 * Behavior: commits or aborts the producer's transaction at its coordinator: the decision is
 * stored, the markers written into every partition through their leaders and the transaction's
 * offsets stored (on commit), and only then is the answer sent. A retry of the same EndTxn
 * joins the completion or, once complete, gets NONE; the other outcome, or an EndTxn without an
 * ongoing transaction, gets INVALID_TXN_STATE; an unknown transactional id or another producer
 * id INVALID_PRODUCER_ID_MAPPING; an older epoch PRODUCER_FENCED.
 * Version notes: v2+ may get PRODUCER_FENCED (before: INVALID_PRODUCER_EPOCH); v3 is flexible.
 * Authorization: WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), as Kafka.
 * Not implemented: v5 (KIP-890 part 2, an epoch bump per transaction; unstable in the spec).
 */
import {
  decodeEndTxnRequest, defaultEndTxnResponse, encodeEndTxnResponse,
} from '../../../protocol/generated/messages/end-txn.js';
import { ErrorCode } from '../../../protocol/generated/errors.js';
import { defineHandler, topLevelError } from '../handler.js';
import { mayWriteTransactionalId } from '../authorize.js';
import { fencedErrorFor, producerIdOf } from './txn-errors.js';

export const handler = defineHandler({
  apiKey: 26,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeEndTxnRequest,
  encodeResponse: encodeEndTxnResponse,
  errorResponse: topLevelError(defaultEndTxnResponse),
  async handle(ctx, req, version) {
    if (!mayWriteTransactionalId(ctx, req.transactionalId)) return { ...defaultEndTxnResponse(),
      errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED };
    const code = await ctx.services.transactions.endTxn(req.transactionalId,
      producerIdOf(req.producerId),
      req.producerEpoch, req.committed);
    return { ...defaultEndTxnResponse(), errorCode: fencedErrorFor(code, version, 2) };
  },
});
