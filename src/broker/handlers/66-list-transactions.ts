/**
 * ListTransactions: v0-1.
 * Behavior: the transactional ids this broker coordinates (an admin client asks every broker and
 * merges), with producer id and state, filtered by state names (unknown names are returned in
 * unknownStateFilters), by producer ids, and (v1) by a running time: only transactions started
 * more than durationFilter ms ago.
 * Version notes: v1 adds durationFilter; both are flexible.
 * Authorization (as Kafka): only the ids the requester may DESCRIBE are listed.
 */
import {
  decodeListTransactionsRequest, defaultListTransactionsResponse,
  defaultListTransactionsResponseTransactionState as stateOut, encodeListTransactionsResponse,
} from '../../../protocol/generated/messages/list-transactions.js';
import type { TransactionStateName } from '../../metadata/records.js';
import { defineHandler, topLevelError } from '../handler.js';
import { AclOperation, ResourceType } from '../../security/acl.js';
import { authorize } from '../authorize.js';

const STATES: readonly TransactionStateName[] = ['Empty', 'Ongoing', 'PrepareCommit',
  'PrepareAbort',
  'CompleteCommit', 'CompleteAbort', 'PrepareEpochFence'];

export const handler = defineHandler({
  apiKey: 66,
  name: 'ListTransactions',
  minVersion: 0,
  maxVersion: 1,
  decodeRequest: decodeListTransactionsRequest,
  encodeResponse: encodeListTransactionsResponse,
  errorResponse: topLevelError(defaultListTransactionsResponse),
  async handle(ctx, req, version) {
    const s = ctx.services;
    const known = new Set<string>(STATES);
    const states = new Set(req.stateFilters);
    const producerIds = new Set(req.producerIdFilters.map(Number));
    const olderThanMs = version >= 1 && req.durationFilter >= 0n ? Number(req.durationFilter) : -1;
    const now = s.nowMs();
    const listed = (await s.transactions.list()).filter((r) =>
      s.transactions.isCoordinator(r.transactionalId)
      && (states.size === 0 || states.has(r.state)) && (producerIds.size === 0
        || producerIds.has(r.producerId))
      && (olderThanMs < 0 || (r.txnStartMs >= 0 && now - r.txnStartMs > olderThanMs))
      && authorize(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, r.transactionalId));
    return { ...defaultListTransactionsResponse(),
      unknownStateFilters: req.stateFilters.filter((f) => !known.has(f)),
      transactionStates: listed.map((r) => ({ ...stateOut(), transactionalId: r.transactionalId,
        producerId: BigInt(r.producerId), transactionState: r.state })) };
  },
});
