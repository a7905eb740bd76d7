/**
 * The SQLite writer thread (started by writer-thread.ts): opens its own connection to the file
 * and runs the writes the event loop sends, in arrival order.
 *
 * Group commit: when a write arrives it also takes the writes queued behind it (up to
 * `writesPerTransactionMax`) and runs them in one transaction, each inside its own savepoint
 * (better-sqlite3 nests a transaction as a savepoint): a write that throws rolls back only
 * itself, and all of them share one COMMIT, one fsync. The replies go out after COMMIT returns,
 * so no caller hears of a write before it is durable. If SQLite ends the whole transaction
 * itself (it does on some errors, a full disk for one), every write of it is reported failed,
 * which is true: none was committed.
 */
import assert from 'node:assert/strict';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { SqliteDatabase } from './database.js';
import {
  serializeError, type FromWriterThread, type ToWriterThread, type WriteReply, type WriteRequest,
  type WriterThreadData,
} from './writer-messages.js';
import { applyWrite } from './writes.js';

assert.ok(parentPort !== null, 'runs as a worker thread');
const port = parentPort;
const { filePath, writesPerTransactionMax } = workerData as WriterThreadData;
assert.ok(Number.isSafeInteger(writesPerTransactionMax) && writesPerTransactionMax > 0);

/** The clock of the write being run: rows that record a time read it through d.nowMs. */
let requestNowMs = 0;
const d = new SqliteDatabase(filePath, () => requestNowMs);

/** One write inside the batch's transaction: better-sqlite3 nests it as a savepoint. */
const runInSavepoint = d.db.transaction((request: WriteRequest) =>
  applyWrite(d, request.name, request.args));
const runBatchTransaction = d.db.transaction((batch: WriteRequest[]) => batch.map(runOne));

function runBatch(batch: WriteRequest[]): WriteReply[] {
  try {
    const replies = runBatchTransaction.immediate(batch);
    assert.equal(replies.length, batch.length, 'one reply per write');
    return replies;
  } catch (error) {
    const failed = serializeError(error); // nothing of the batch was committed
    return batch.map((request) => ({ id: request.id, ok: false, error: failed }));
  }
}

function runOne(request: WriteRequest): WriteReply {
  requestNowMs = request.nowMs;
  try {
    return { id: request.id, ok: true, value: runInSavepoint(request) };
  } catch (error) {
    // SQLite rolled the whole transaction back: the writes before this one are gone too.
    if (!d.db.inTransaction) throw error;
    return { id: request.id, ok: false, error: serializeError(error) };
  }
}

port.on('message', (first: ToWriterThread) => {
  const batch: WriteRequest[] = [];
  let closeAfter = first.kind === 'close';
  if (first.kind === 'write') batch.push(first);
  while (!closeAfter && batch.length < writesPerTransactionMax) {
    const queued = receiveMessageOnPort(port)?.message as ToWriterThread | undefined;
    if (queued === undefined) break;
    if (queued.kind === 'close') closeAfter = true;
    else batch.push(queued);
  }
  if (batch.length > 0) {
    port.postMessage({ kind: 'replies', replies: runBatch(batch) } satisfies FromWriterThread);
  }
  if (closeAfter) {
    d.close();
    port.postMessage({ kind: 'closed' } satisfies FromWriterThread);
    port.close(); // nothing else keeps the thread alive: it ends
  }
});
