/**
 * The transaction coordinator (Kafka's TransactionCoordinator): the state machine of each
 * transactional id, kept in the TransactionStates store, and the two-phase end of a transaction.
 *
 * Placement: the broker that coordinates group `id` (rendezvous over the live brokers) also
 * coordinates transactional id `id`, so FindCoordinator answers both the same way. Fencing: every
 * write is a compare-and-set on the record's version, and every operation reads the record fresh
 * from the store, so a coordinator that lost an id to another broker cannot undo its successor's
 * decisions; operations on one id run one at a time here (a serial queue per id).
 *
 * Ending a transaction: EndTxn stores PrepareCommit / PrepareAbort (the decision, durable), then
 * writes the markers into every partition through its leader (marker-writer.ts), then, on commit,
 * the offsets of TxnOffsetCommit into the group offsets, then CompleteCommit / CompleteAbort.
 * EndTxn answers once all of that is done. A coordinator that dies between the decision and the
 * completion leaves a Prepare* record: the broker that coordinates the id next finds it in its
 * periodic scan and finishes it (markers are not doubled: see marker-writer.ts). The same scan
 * aborts transactions open longer than their timeout, bumping the epoch so the producer is fenced,
 * and removes ids idle (Empty, CompleteCommit, CompleteAbort) past transactional.id.expiration.ms.
 *
 * Authorization (transactional id ACLs: Write on InitProducerId, AddPartitions, AddOffsets,
 * EndTxn, TxnOffsetCommit; Describe on DescribeTransactions / ListTransactions) is not checked
 * here: it belongs in the handlers, before these calls, once the security work lands.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { type CommittedOffset, TransactionConflictError,
  type TransactionRecord } from '../metadata/records.js';
import type { Metadata } from '../metadata/stores.js';
import { SerialQueue } from '../util/serial-queue.js';
import { transactionLimits } from '../limits.js';
import { crashPoint } from '../util/crash-points.js';
import type { MarkerWriter, TopicPartitionName } from './marker-writer.js';

const EPOCH_MAX = 0x7fff - 1;

export type TxnLog = {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
};

export interface TransactionCoordinatorOptions {
  metadata: Metadata;
  markers: MarkerWriter;
  nowMs: () => number;
  log: TxnLog;
  /** Whether this broker coordinates the id now (cluster mode; a single node always does). */
  isCoordinator: (transactionalId: string) => boolean;
  /**
   * Kafka's transactional.id.expiration.ms: an id with no transaction open or ending, untouched
   * this long, is removed; its next InitProducerId starts afresh (a new producer id, epoch 0).
   */
  transactionalIdExpirationMs: number;
}

export interface ProducerIdAndEpoch {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

type Rec = TransactionRecord;
type Fields = Omit<TransactionRecord, 'version'>;

const isPrepare = (r: Rec) => r.state === 'PrepareCommit' || r.state === 'PrepareAbort';
/** No transaction open or ending: the states transactional.id.expiration.ms applies to. */
const isIdle = (r: Rec) => r.state === 'Empty' || r.state === 'CompleteCommit'
  || r.state === 'CompleteAbort';
const fieldsOf = ({ version: _version, ...fields }: Rec): Fields => fields;

export class TransactionCoordinator {
  private readonly queues = new Map<string, SerialQueue>();
  /** Completions running here, by id: an EndTxn retry or the scan joins rather than repeats. */
  private readonly completing = new Map<string, Promise<boolean>>();
  private scanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly o: TransactionCoordinatorOptions) {}

  /** Starts the periodic scan (expired transactions,
    decisions left unfinished by a dead broker). */
  start(): void {
    const tick = () => {
      this.scanTimer = setTimeout(() => {
        this.scan().catch((err: unknown) => this.o.log.warn({ err }, 'transaction scan failed'))
          .finally(() => { if (!this.closed) tick(); });
      }, transactionLimits.abortTimedOutCheckMs);
    };
    tick();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.scanTimer);
  }

  /** InitProducerId with a transactional id. */
  initProducerId(id: string, timeoutMs: number,
    expected: { producerId: number; producerEpoch: number }):
    Promise<ProducerIdAndEpoch> {
    const fail = (errorCode: number) => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if (timeoutMs <= 0 || timeoutMs > transactionLimits.txnTimeoutMsMax) {
      return Promise.resolve(fail(ErrorCode.INVALID_TRANSACTION_TIMEOUT));
    }
    return this.withId(id, fail, async (rec) => {
      const now = this.o.nowMs();
      if (rec === null) {
        const producerId = await this.o.metadata.producers.allocate();
        const created = await this.o.metadata.transactions.put({ transactionalId: id, producerId,
          producerEpoch: 0, timeoutMs, state: 'Empty', partitions: [], pendingOffsets: [],
            txnStartMs: -1,
          updatedAtMs: now }, 0);
        return { errorCode: ErrorCode.NONE, producerId: created.producerId, producerEpoch: 0 };
      }
      if (expected.producerId >= 0 && (expected.producerId !== rec.producerId
        || expected.producerEpoch !== rec.producerEpoch)) {
        return fail(ErrorCode.PRODUCER_FENCED);
      }
      if (isPrepare(rec)) {
        this.complete(rec);
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      if (rec.state === 'Ongoing') {
        // A new instance fences the old one: abort its transaction under a bumped epoch.
        this.complete(await this.prepare(rec, 'PrepareAbort', true));
        return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      }
      const exhausted = rec.producerEpoch >= EPOCH_MAX;
      const producerId = exhausted ? await this.o.metadata.producers.allocate() : rec.producerId;
      const stored = await this.o.metadata.transactions.put({ ...fieldsOf(rec), producerId,
        producerEpoch: exhausted ? 0 : rec.producerEpoch + 1, timeoutMs, state: 'Empty',
          partitions: [],
        pendingOffsets: [], txnStartMs: -1, updatedAtMs: now }, rec.version);
      return { errorCode: ErrorCode.NONE, producerId: stored.producerId,
        producerEpoch: stored.producerEpoch };
    });
  }

  /**
   * AddPartitionsToTxn: adds partitions (or, verifyOnly, checks they are in the transaction:
   * KIP-890).
   * Returns one code for the whole transaction, or per-partition codes.
   */
  addPartitions(id: string, producerId: number, producerEpoch: number,
    partitions: TopicPartitionName[],
    verifyOnly: boolean): Promise<{ errorCode: number; partitionErrors?: number[] }> {
    return this.withId(id, (errorCode) => ({ errorCode }), async (rec) => {
      const error = checkProducer(rec, producerId, producerEpoch);
      if (error !== ErrorCode.NONE) return { errorCode: error };
      assert.ok(rec !== null);
      if (verifyOnly) {
        const ongoing = rec.state === 'Ongoing';
        return { errorCode: ErrorCode.NONE, partitionErrors: partitions.map((tp) =>
          ongoing && rec.partitions.some((p) => p.topic === tp.topic
            && p.partition === tp.partition)
            ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE) };
      }
      const merged = mergePartitions(rec.partitions, partitions);
      if (merged.length > transactionLimits.partitionsPerTxnMax) {
        return { errorCode: ErrorCode.INVALID_REQUEST };
      }
      if (rec.state === 'Ongoing'
        && merged.length === rec.partitions.length) return { errorCode: ErrorCode.NONE };
      await this.o.metadata.transactions.put({ ...this.begun(rec), partitions: merged },
        rec.version);
      return { errorCode: ErrorCode.NONE };
    });
  }

  /** AddOffsetsToTxn: the group's offsets will be committed with the transaction. */
  addOffsets(id: string, producerId: number, producerEpoch: number,
    groupId: string): Promise<number> {
    return this.withId(id, (code) => code, async (rec) => {
      const error = checkProducer(rec, producerId, producerEpoch);
      if (error !== ErrorCode.NONE) return error;
      assert.ok(rec !== null);
      if (rec.pendingOffsets.some((g) => g.groupId === groupId)
        && rec.state === 'Ongoing') return ErrorCode.NONE;
      const full = rec.pendingOffsets.length >= transactionLimits.groupsPerTxnMax;
      if (full) return ErrorCode.INVALID_REQUEST;
      await this.o.metadata.transactions.put({ ...this.begun(rec),
        pendingOffsets: [...rec.pendingOffsets, { groupId, offsets: [] }] }, rec.version);
      return ErrorCode.NONE;
    });
  }

  /**
   * TxnOffsetCommit (sent to the group's coordinator, which may be another broker than the
   * transaction's: the record is changed by compare-and-set, retried on a conflict).
   */
  async commitOffsets(id: string, producerId: number, producerEpoch: number, groupId: string,
    offsets: CommittedOffset[]): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const rec = await this.o.metadata.transactions.get(id);
      const error = checkProducer(rec, producerId, producerEpoch);
      if (error !== ErrorCode.NONE) return error === ErrorCode.PRODUCER_FENCED
        ? ErrorCode.INVALID_PRODUCER_EPOCH : error;
      assert.ok(rec !== null);
      const group = rec.pendingOffsets.find((g) => g.groupId === groupId);
      if (rec.state !== 'Ongoing' || group === undefined) return ErrorCode.INVALID_TXN_STATE;
      const merged = mergeOffsets(group.offsets, offsets);
      if (merged.length > transactionLimits.offsetsPerGroupMax) return ErrorCode.INVALID_REQUEST;
      const pendingOffsets = rec.pendingOffsets.map((g) => g.groupId === groupId ? { groupId,
        offsets: merged } : g);
      try {
        await this.o.metadata.transactions.put({ ...fieldsOf(rec), pendingOffsets,
          updatedAtMs: this.o.nowMs() },
          rec.version);
        return ErrorCode.NONE;
      } catch (err) {
        if (!(err instanceof TransactionConflictError) || attempt >= 3) throw err;
      }
    }
  }

  /** EndTxn: answers once the markers are durable and the offsets stored. */
  async endTxn(id: string, producerId: number, producerEpoch: number,
    commit: boolean): Promise<number> {
    const wanted = commit ? 'Commit' : 'Abort';
    const decided = await this.withId(id, (code) => ({ code, rec: null as Rec | null }),
      async (rec) => {
      const error = checkProducer(rec, producerId, producerEpoch, false);
      if (error !== ErrorCode.NONE) return { code: error, rec: null };
      assert.ok(rec !== null);
      if (rec.state === 'Ongoing') return { code: ErrorCode.NONE, rec: await this.prepare(rec,
        `Prepare${wanted}`, false) };
      if (rec.state === `Prepare${wanted}`) return { code: ErrorCode.NONE, rec };
      if (rec.state === `Complete${wanted}`) return { code: ErrorCode.NONE, rec: null };
      return { code: ErrorCode.INVALID_TXN_STATE, rec: null };
    });
    if (decided.rec === null) return decided.code;
    return await this.complete(decided.rec) ? ErrorCode.NONE : ErrorCode.NOT_COORDINATOR;
  }

  /** Whether a partition is in the producer's ongoing transaction (a leader's produce check). */
  async verify(id: string, producerId: number, producerEpoch: number,
    tp: TopicPartitionName): Promise<number> {
    const rec = await this.o.metadata.transactions.get(id);
    const error = checkProducer(rec, producerId, producerEpoch);
    if (error !== ErrorCode.NONE) return error === ErrorCode.PRODUCER_FENCED
      ? ErrorCode.INVALID_PRODUCER_EPOCH : error;
    const inTxn = rec!.state === 'Ongoing' && rec!.partitions.some((p) => p.topic === tp.topic
      && p.partition === tp.partition);
    return inTxn ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
  }

  /** Groups with offsets committed in a transaction not yet ended (OffsetFetch requireStable). */
  async pendingOffsetGroups(): Promise<Map<string, CommittedOffset[]>> {
    const out = new Map<string, CommittedOffset[]>();
    for (const rec of await this.o.metadata.transactions.list()) {
      if (rec.state !== 'Ongoing' && !isPrepare(rec)) continue;
      for (const g of rec.pendingOffsets) out.set(g.groupId, [...(out.get(g.groupId) ?? []),
        ...g.offsets]);
    }
    return out;
  }

  /** One pass: finish decisions left open, abort transactions past their timeout, expire ids. */
  async scan(): Promise<void> {
    const now = this.o.nowMs();
    for (const rec of await this.o.metadata.transactions.list()) {
      if (this.closed || !this.o.isCoordinator(rec.transactionalId)) continue;
      if (isPrepare(rec)) {
        this.complete(rec);
      } else if (isIdle(rec) && now - rec.updatedAtMs > this.o.transactionalIdExpirationMs) {
        await this.expire(rec);
      } else if (rec.state === 'Ongoing' && now - rec.txnStartMs > rec.timeoutMs) {
        await this.withId(rec.transactionalId, () => null, async (fresh) => {
          if (fresh?.state !== 'Ongoing' || fresh.version !== rec.version) return null;
          this.o.log.info({ transactionalId: rec.transactionalId, timeoutMs: rec.timeoutMs },
            'aborting a transaction past its timeout');
          this.complete(await this.prepare(fresh, 'PrepareAbort', true));
          return null;
        });
      }
    }
  }

  /** Removes an idle id, unless it was used since the scan read it (compare-and-set). */
  private expire(rec: Rec): Promise<null> {
    return this.withId(rec.transactionalId, () => null, async (fresh) => {
      if (fresh === null || fresh.version !== rec.version) return null;
      await this.o.metadata.transactions.delete(rec.transactionalId, rec.version);
      this.o.log.info({ transactionalId: rec.transactionalId, producerId: rec.producerId,
        idleMs: this.o.nowMs() - rec.updatedAtMs }, 'transactional id expired');
      return null;
    });
  }

  /** Every record, for ListTransactions / DescribeTransactions. */
  list(): Promise<TransactionRecord[]> {
    return this.o.metadata.transactions.list();
  }

  get(id: string): Promise<TransactionRecord | null> {
    return this.o.metadata.transactions.get(id);
  }

  isCoordinator(id: string): boolean {
    return this.o.isCoordinator(id);
  }

  private begun(rec: Rec): Fields {
    const now = this.o.nowMs();
    return { ...fieldsOf(rec), state: 'Ongoing', updatedAtMs: now,
      txnStartMs: rec.state === 'Ongoing' ? rec.txnStartMs : now,
      ...(rec.state === 'Ongoing' ? {} : { partitions: [], pendingOffsets: [] }) };
  }

  /** Stores the decision; `fence` bumps the epoch first (a new instance, a timeout). */
  private prepare(rec: Rec, state: 'PrepareCommit' | 'PrepareAbort', fence: boolean): Promise<Rec> {
    const producerEpoch = fence ? Math.min(rec.producerEpoch + 1, EPOCH_MAX) : rec.producerEpoch;
    return this.o.metadata.transactions.put({ ...fieldsOf(rec), state, producerEpoch,
      updatedAtMs: this.o.nowMs() }, rec.version);
  }

  /** Writes the markers and offsets of a stored decision, then completes it; joins one running. */
  private complete(rec: Rec): Promise<boolean> {
    const running = this.completing.get(rec.transactionalId);
    if (running !== undefined) return running;
    const done = this.runCompletion(rec).catch((err: unknown) => {
      this.o.log.warn({ err, transactionalId: rec.transactionalId },
        'transaction completion failed; the scan retries');
      return false;
    }).finally(() => this.completing.delete(rec.transactionalId));
    this.completing.set(rec.transactionalId, done);
    return done;
  }

  private async runCompletion(rec: Rec): Promise<boolean> {
    assert.ok(isPrepare(rec), 'only a stored decision is completed');
    const commit = rec.state === 'PrepareCommit';
    crashPoint('txn-before-markers');
    const written = await this.o.markers.writeAll({ producerId: rec.producerId,
      producerEpoch: rec.producerEpoch,
      type: commit ? 'commit' : 'abort', coordinatorEpoch: rec.version }, rec.partitions,
    () => !this.closed && this.o.isCoordinator(rec.transactionalId));
    if (!written) return false;
    crashPoint('txn-before-complete');
    if (commit) {
      for (const g of rec.pendingOffsets) {
        if (g.offsets.length > 0) await this.o.metadata.offsets.commit(g.groupId, g.offsets);
      }
    }
    await this.o.metadata.transactions.put({ ...fieldsOf(rec),
      state: commit ? 'CompleteCommit' : 'CompleteAbort',
      partitions: [], pendingOffsets: [], txnStartMs: -1, updatedAtMs: this.o.nowMs() },
        rec.version);
    return true;
  }

  /** Runs `fn` on the fresh record, one operation per id at a time; not coordinator → `fail`. */
  private async withId<T>(id: string, fail: (errorCode: number) => T,
    fn: (rec: Rec | null) => Promise<T>): Promise<T> {
    if (this.closed) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (!this.o.isCoordinator(id)) return fail(ErrorCode.NOT_COORDINATOR);
    let queue = this.queues.get(id);
    if (queue === undefined) {
      queue = new SerialQueue();
      this.queues.set(id, queue);
    }
    try {
      return await queue.run(async () => fn(await this.o.metadata.transactions.get(id)));
    } catch (err) {
      if (err instanceof TransactionConflictError) return fail(ErrorCode.CONCURRENT_TRANSACTIONS);
      throw err;
    } finally {
      if (queue.size === 0) this.queues.delete(id);
    }
  }
}

/**
 * Kafka's checks of the producer a request names against the record; a transaction being ended
 * is busy (CONCURRENT_TRANSACTIONS, retriable) except to EndTxn, which joins the completion.
 */
function checkProducer(rec: Rec | null, producerId: number, producerEpoch: number,
  prepareIsBusy = true): number {
  if (rec === null || rec.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
  if (rec.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
  if (prepareIsBusy && isPrepare(rec)) return ErrorCode.CONCURRENT_TRANSACTIONS;
  return ErrorCode.NONE;
}

function mergePartitions(current: TopicPartitionName[],
  added: TopicPartitionName[]): TopicPartitionName[] {
  const key = (tp: TopicPartitionName) => `${tp.topic}\0${tp.partition}`;
  const all = new Map(current.map((tp) => [key(tp), tp]));
  for (const tp of added) all.set(key(tp), { topic: tp.topic, partition: tp.partition });
  return [...all.values()].sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1
    : a.partition - b.partition);
}

function mergeOffsets(current: CommittedOffset[], added: CommittedOffset[]): CommittedOffset[] {
  const key = (o: CommittedOffset) => `${o.topic}\0${o.partition}`;
  const all = new Map(current.map((o) => [key(o), o]));
  for (const o of added) all.set(key(o), o);
  return [...all.values()];
}
