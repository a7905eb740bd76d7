/**
 * AddOffsetsToTxn: v0-4.
 * Behavior: the group's offsets (TxnOffsetCommit) will be committed with the transaction, at its
 * coordinator. Errors as AddPartitionsToTxn's: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED,
 * CONCURRENT_TRANSACTIONS, NOT_COORDINATOR; an empty group id gets INVALID_GROUP_ID.
 * Version notes: v2+ may get PRODUCER_FENCED (before: INVALID_PRODUCER_EPOCH); v3 is flexible;
 * v4 only adds an error (TRANSACTION_ABORTABLE) this broker does not send.
 * Authorization (as Kafka, before anything else): WRITE on the transactional id
 * (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then READ on the group (GROUP_AUTHORIZATION_FAILED).
 */
import { ErrorCode } from '../../../protocol/generated/errors.js';
import {
  decodeAddOffsetsToTxnRequest, defaultAddOffsetsToTxnResponse, encodeAddOffsetsToTxnResponse,
} from '../../../protocol/generated/messages/add-offsets-to-txn.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize, mayWriteTransactionalId } from '../authorize.js';
import { fencedErrorFor, producerIdOf } from './txn-errors.js';

export const handler = defineHandler({
  apiKey: 25,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 4,
  decodeRequest: decodeAddOffsetsToTxnRequest,
  encodeResponse: encodeAddOffsetsToTxnResponse,
  errorResponse: topLevelError(defaultAddOffsetsToTxnResponse),
  async handle(ctx, req, version) {
    const refusal = !mayWriteTransactionalId(ctx, req.transactionalId)
      ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
      : !authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.groupId)
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.NONE;
    if (refusal !== ErrorCode.NONE) return { ...defaultAddOffsetsToTxnResponse(),
      errorCode: refusal };
    if (req.groupId === '') return { ...defaultAddOffsetsToTxnResponse(),
      errorCode: ErrorCode.INVALID_GROUP_ID };
    const code = await ctx.services.transactions.addOffsets(req.transactionalId,
      producerIdOf(req.producerId),
      req.producerEpoch, req.groupId);
    return { ...defaultAddOffsetsToTxnResponse(), errorCode: fencedErrorFor(code, version, 2) };
  },
});
