/**
 * The etcd engine's shared part: the client, the key layout, the topic cache, and the optimistic
 * write loop every store's writes go through.
 *
 * Writes: every method that changes more than one key is ONE etcd transaction guarded by what it
 * read (`writeLoop`): it compares the mod_revision of each key it read (or, for keys it creates,
 * that they do not exist yet), and a failed compare means someone else moved one of them. The
 * transaction's failure branch reads those same keys again, so the retry plans from fresh values
 * without another round trip. Retries are bounded (txnAttemptsMax); a domain error — FencedError,
 * IndexContinuityError, UnknownTopicError, TopicExistsError — is only ever thrown from values
 * read from etcd, never from the cache, and is never retried. Own writes are applied to the
 * cache when their transaction returns (read-your-writes).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  EtcdClient,
  EtcdCompare,
  EtcdRangeResponse,
  EtcdRequestOp,
  EtcdTxnResponse,
} from '../../etcd/client.js';
import type { EtcdKeys } from '../../etcd/keys.js';
import {
  deleteOp, getOp, putOp, rangesOf, revisionOf, txnWithin, versionedOf, type Versioned,
} from '../../etcd/txn.js';
import type { SegmentEntry } from '../records.js';
import { releaseEntries } from '../rules.js';
import { decodeObject, encodeObject, type ObjectRecord } from './codecs.js';
import { TopicCache, type MetadataChange } from './topic-cache.js';
import { etcdCoordinatorLimits } from '../../limits.js';


export class EtcdConflictError extends Error {
  override readonly name = 'EtcdConflictError';
  constructor(readonly operation: string, readonly attempts: number) {
    super(`${operation}: gave up after ${attempts} attempts; the keys it read kept changing`);
  }
}

/** What a write reads before planning: a fresh read, and optionally the same reads as ops for a
 *  transaction's failure branch so that a conflict returns fresh values at no extra cost. */
export interface ViewSource<V> {
  read(): Promise<V>;
  failureReads?: { ops: EtcdRequestOp[]; decode(ranges: EtcdRangeResponse[]): V };
}

export interface TxnPlan<R> {
  compare: EtcdCompare[];
  success: EtcdRequestOp[];
  result: R;
}

export type EngineLog = (message: string, error: unknown) => void;

export class EtcdEngine {
  readonly cache: TopicCache;
  private readonly listeners = new Set<(change: MetadataChange) => void>();
  /** Transactions that lost a compare (each retried), for metrics and tests. */
  conflicts = 0;

  constructor(readonly client: EtcdClient, readonly keys: EtcdKeys, readonly txnOpsMax: number,
    readonly nowMs: () => number, readonly log: EngineLog) {
    assert.ok(Number.isSafeInteger(txnOpsMax) && txnOpsMax >= 8, 'txnOpsMax >= 8');
    this.cache = new TopicCache(keys);
  }

  onChange(listener: (change: MetadataChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async txn(compare: EtcdCompare[], success: EtcdRequestOp[], failure: EtcdRequestOp[]):
    Promise<EtcdTxnResponse> {
    return txnWithin(this.client, this.txnOpsMax, compare, success, failure);
  }

  /**
   * Runs `plan` on a view of what it needs until its transaction commits. A first view may be a
   * guess (from the cache): a plan that throws on a guess is re-planned on a fresh read, so
   * domain errors only come from etcd's values. A failed compare refreshes the view and retries.
   */
  async writeLoop<V, R>(operation: string, source: ViewSource<V>,
    plan: (view: V) => TxnPlan<R>, guess: V | null = null): Promise<R> {
    let fresh = guess === null;
    let view: V = guess ?? await source.read();
    for (let attempt = 1; attempt <= etcdCoordinatorLimits.txnAttemptsMax; attempt++) {
      let txnPlan: TxnPlan<R>;
      try {
        txnPlan = plan(view);
      } catch (error) {
        if (fresh) throw error;
        [view, fresh] = [await source.read(), true];
        continue;
      }
      // Nothing to write: a fresh read is as good as a compare. A guess still needs the txn,
      // so that e.g. a replay by a fenced leader fails as a fenced commit would.
      if (txnPlan.success.length === 0 && fresh) return txnPlan.result;
      const response = await this.txn(txnPlan.compare, txnPlan.success,
        source.failureReads?.ops ?? []);
      if (response.succeeded) {
        this.applyOwnWrites(txnPlan.success, revisionOf(response.header));
        return txnPlan.result;
      }
      this.conflicts++;
      view = source.failureReads === undefined ? await source.read()
        : source.failureReads.decode(rangesOf(response));
      fresh = true;
      if (attempt > 1) await this.backoffAfterConflict(attempt);
    }
    throw new EtcdConflictError(operation, etcdCoordinatorLimits.txnAttemptsMax);
  }

  /** A view made of single-key reads, read in one round trip and re-read by a failed txn. */
  keyReads<V>(ops: EtcdRequestOp[], decode: (ranges: EtcdRangeResponse[]) => V): ViewSource<V> {
    return {
      read: async () => decode(rangesOf(await this.txn([], ops, []))),
      failureReads: { ops, decode },
    };
  }

  /** Unguarded single-key writes (offsets) in as few txns as txnOpsMax allows. */
  async writeChunked(ops: EtcdRequestOp[]): Promise<void> {
    for (let i = 0; i < ops.length; i += this.txnOpsMax) {
      await this.txn([], ops.slice(i, i + this.txnOpsMax), []);
    }
  }

  async backoffAfterConflict(attempt: number): Promise<void> {
    const ceilingMs = Math.min(etcdCoordinatorLimits.conflictBackoffMsMax, 2 ** attempt);
    await sleep(Math.random() * ceilingMs);
  }

  async readObjects(objectKeys: Set<string>): Promise<Map<string, Versioned<ObjectRecord>>> {
    const keys = [...objectKeys];
    const objects = new Map<string, Versioned<ObjectRecord>>();
    for (let i = 0; i < keys.length; i += this.txnOpsMax) {
      const chunk = keys.slice(i, i + this.txnOpsMax);
      const response = await this.txn([], chunk.map((k) => getOp(this.keys.object(k))), []);
      rangesOf(response).forEach((range, j) =>
        objects.set(chunk[j]!, versionedOf(range, decodeObject)));
    }
    return objects;
  }

  /** The writes that release `entries` from their objects (rules.ts counts), and the objects
   *  left with no live entry. */
  objectReleaseOps(entries: SegmentEntry[], objects: Map<string, Versioned<ObjectRecord>>):
    { ops: EtcdRequestOp[]; deadObjectKeys: string[] } {
    const recordOf = (objectKey: string): ObjectRecord => {
      const record = objects.get(objectKey)?.value;
      assert.ok(record !== null && record !== undefined, `object ${objectKey} is recorded`);
      return record;
    };
    const release = releaseEntries(entries.map((e) => e.objectKey),
      (objectKey) => recordOf(objectKey).liveEntries);
    const ops: EtcdRequestOp[] = [];
    for (const [objectKey, liveEntries] of release.liveCounts) {
      ops.push(putOp(this.keys.object(objectKey),
        encodeObject({ ...recordOf(objectKey), liveEntries })));
    }
    for (const objectKey of release.deadObjectKeys) ops.push(deleteOp(this.keys.object(objectKey)));
    return { ops, deadObjectKeys: release.deadObjectKeys };
  }

  /** Applies this instance's committed ops to the cache at the txn's revision. */
  applyOwnWrites(ops: EtcdRequestOp[], revision: number): void {
    for (const op of ops) {
      if (op.request_put?.key !== undefined) {
        this.applyChange(op.request_put.key.toString('utf8'), revision,
          op.request_put.value ?? Buffer.alloc(0));
      }
      const deletion = op.request_delete_range;
      if (deletion?.key === undefined) continue;
      const keys = deletion.range_end === undefined ? [deletion.key.toString('utf8')]
        : this.cache.liveKeysIn(deletion.key, deletion.range_end);
      for (const key of keys) this.applyChange(key, revision, null);
    }
  }

  applyChange(key: string, modRevision: number, value: Buffer | null): void {
    const change = this.cache.apply(key, modRevision, value);
    if (change !== null) this.emit([change]);
  }

  emit(changes: MetadataChange[]): void {
    for (const change of changes) {
      for (const listener of this.listeners) {
        try {
          listener(change);
        } catch (error) {
          this.log('metadata change listener threw', error);
        }
      }
    }
  }
}
