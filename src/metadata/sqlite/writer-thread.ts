/**
 * The writer of a file database: a worker thread (writer-thread-entry.ts) that owns the one
 * connection that writes, so a write transaction and its fsync (synchronous = FULL, schema.ts)
 * run beside the event loop instead of on it. The largest was the segment commit after an
 * upload: 0.3-1.1 s of a stalled loop at 5,000 partitions; at any scale, an fsync per commit.
 *
 * - Order and atomicity: requests go down one message port and the thread runs them in arrival
 *   order, each as its own savepoint inside a transaction that takes several queued writes at
 *   once (one fsync for all of them; writer-thread-entry.ts): a write that throws undoes only
 *   itself, the others commit. So each call stays one atomic change, in call order.
 * - Durability: a reply is posted after its transaction's COMMIT returned, i.e. after the fsync.
 * - Read-your-writes: reads stay on the event loop's connection. In WAL mode a read sees every
 *   transaction committed before it began, and a reply arrives only after its commit.
 * - Bounded: at most `writesWaitingMax` writes wait for replies; one more fails at once.
 * - Failure: if the thread dies, every waiting write and every later one rejects with the reason;
 *   nothing waits for a reply that cannot come.
 * - Close: after the writes called before it, then the thread closes its connection and ends.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { sqliteWriterLimits } from '../../limits.js';
import {
  reviveError, type FromWriterThread, type ToWriterThread, type WriteReply, type WriterThreadData,
} from './writer-messages.js';
import type { SqliteWriter } from './writer.js';
import type { WriteArgs, WriteName, WriteResult } from './writes.js';

interface Waiting { resolve: (value: unknown) => void; reject: (error: Error) => void }

export interface WriterThreadOptions {
  writesWaitingMax?: number;
  writesPerTransactionMax?: number;
  /** The thread's code; tests give one that fails on purpose. */
  entry?: URL;
}

export class WorkerSqliteWriter implements SqliteWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private readonly writesWaitingMax: number;
  private nextId = 0;
  /** Why no write can succeed any more (the thread died); null while it is healthy. */
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;
  /** The thread said it closed its connection, as asked: its exit is the expected end. */
  private closedAsAsked = false;

  constructor(filePath: string, private readonly nowMs: () => number,
    options: WriterThreadOptions = {}) {
    this.writesWaitingMax = options.writesWaitingMax ?? sqliteWriterLimits.writesWaitingMax;
    assert.ok(Number.isSafeInteger(this.writesWaitingMax) && this.writesWaitingMax > 0);
    const workerData: WriterThreadData = { filePath, writesPerTransactionMax:
      options.writesPerTransactionMax ?? sqliteWriterLimits.writesPerTransactionMax };
    const start = writerThreadStart(options.entry);
    this.worker = new Worker(start.script, { workerData, eval: start.eval, execArgv: [] });
    this.worker.unref(); // an idle writer keeps no process alive; run() refs it while it waits
    this.worker.on('message', (message: FromWriterThread) => this.onMessage(message));
    this.worker.on('error', (error) => this.fail(
      new Error(`the SQLite writer thread failed: ${error.message}`, { cause: error })));
    this.worker.on('exit', (code) => this.fail(
      new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  run<N extends WriteName>(name: N, ...args: WriteArgs<N>): Promise<WriteResult<N>> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closing !== null) return Promise.reject(new Error('the SQLite metadata is closed'));
    if (this.waiting.size >= this.writesWaitingMax) {
      return Promise.reject(new Error(`${this.waiting.size} metadata writes are waiting for ` +
        `the SQLite writer thread (at most ${this.writesWaitingMax})`));
    }
    const id = this.nextId++;
    const request: ToWriterThread = { kind: 'write', id, name, args, nowMs: this.nowMs() };
    return new Promise<WriteResult<N>>((resolve, reject) => {
      this.worker.postMessage(request); // throws (rejects) before anything waits if not cloneable
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      if (this.waiting.size === 1) this.worker.ref();
    });
  }

  close(): Promise<void> {
    this.closing ??= this.closeThread();
    return this.closing;
  }

  private async closeThread(): Promise<void> {
    if (this.failure !== null) return;
    this.worker.ref();
    const exited = once(this.worker, 'exit');
    this.worker.postMessage({ kind: 'close' } satisfies ToWriterThread);
    await exited;
    if (this.failure !== null) throw this.failure;
  }

  private onMessage(message: FromWriterThread): void {
    if (message.kind === 'closed') {
      assert.equal(this.waiting.size, 0, 'the thread closes after answering every write');
      this.closedAsAsked = true;
      return;
    }
    for (const reply of message.replies) this.settle(reply);
    if (this.waiting.size === 0) this.worker.unref();
  }

  private settle(reply: WriteReply): void {
    const waiting = this.waiting.get(reply.id);
    assert.ok(waiting !== undefined, `a reply to write ${reply.id}, which is waiting`);
    this.waiting.delete(reply.id);
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(reviveError(reply.error));
  }

  /** The thread is gone (or going): nothing waiting can be answered, nothing later can run. */
  private fail(error: Error): void {
    if (this.closedAsAsked) return;
    this.failure ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(this.failure);
    this.waiting.clear();
  }
}

/**
 * How to start the thread. Compiled (dist/), its code is the JavaScript beside this file. Run
 * from the TypeScript source (vitest, tsx scripts, always from the repository's root), it is
 * TypeScript, which a worker loads only after registering tsx (a development dependency) itself:
 * Node 20 does not apply a parent's `--import tsx` to a worker's loader.
 */
function writerThreadStart(entry: URL | undefined): { script: string | URL; eval: boolean } {
  if (entry !== undefined) return { script: entry, eval: false };
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./writer-thread-entry.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return { script: url, eval: false };
  return { script: `import('tsx/esm/api').then(({ register }) => { register(); ` +
    `return import(${JSON.stringify(url.href)}); });`, eval: true };
}
