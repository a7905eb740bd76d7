/**
 * The transaction APIs, in key order, for handlers/index.ts to merge into the registry.
 * (InitProducerId, 22, serves idempotent producers too and stays in index.ts.)
 */
import type { ApiHandler } from '../handler.js';
import { handler as addPartitionsToTxn } from './24-add-partitions-to-txn.js';
import { handler as addOffsetsToTxn } from './25-add-offsets-to-txn.js';
import { handler as endTxn } from './26-end-txn.js';
import { handler as writeTxnMarkers } from './27-write-txn-markers.js';
import { handler as txnOffsetCommit } from './28-txn-offset-commit.js';
import { handler as describeTransactions } from './65-describe-transactions.js';
import { handler as listTransactions } from './66-list-transactions.js';

export const txnHandlers: readonly ApiHandler[] = [
  addPartitionsToTxn, addOffsetsToTxn, endTxn, writeTxnMarkers, txnOffsetCommit,
    describeTransactions,
  listTransactions,
];
