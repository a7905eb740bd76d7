/**
 * Building etcd transactions and reading their answers: the ops, compares and range reads every
 * etcd user writes, once. A transaction is `compare → success | failure`; etcd applies one branch
 * atomically at one revision and counts each branch on its own against --max-txn-ops.
 */
import assert from 'node:assert/strict';
import type {
  Etcd3,
  ICompare,
  IKeyValue,
  IRangeResponse,
  IRequestOp,
  IResponseHeader,
  ITxnResponse,
} from 'etcd3';
import { prefixEnd } from './keys.js';
import { etcdKitLimits } from '../limits.js';


/** A value as read, with the revision a compare must name to guard it. */
export interface Versioned<T> {
  value: T | null;
  /** 0 when the key does not exist: what etcd compares a missing key's mod_revision as. */
  modRevision: number;
}

export const absent: Versioned<never> = { value: null, modRevision: 0 };

export class EtcdTxnTooLargeError extends RangeError {
  override readonly name = 'EtcdTxnTooLargeError';
}

export function revisionOf(header: IResponseHeader | { revision: string }): number {
  const revision = Number(header.revision);
  assert.ok(Number.isSafeInteger(revision) && revision > 0, `etcd revision ${header.revision}`);
  return revision;
}

export function keyOf(kv: IKeyValue): string {
  return kv.key.toString('utf8');
}

// Ops

export function getOp(key: string): IRequestOp {
  return { request_range: { key: Buffer.from(key) } };
}

/** A put; with `lease`, the key dies with that lease. */
export function putOp(key: string, value: string, lease?: string): IRequestOp {
  return { request_put: { key: Buffer.from(key), value: Buffer.from(value),
    ...(lease === undefined ? {} : { lease }) } };
}

export function deleteOp(key: string): IRequestOp {
  return { request_delete_range: { key: Buffer.from(key) } };
}

export function deletePrefixOp(prefix: string): IRequestOp {
  return { request_delete_range: { key: Buffer.from(prefix), range_end: prefixEnd(prefix) } };
}

/** Deletes the keys in [start, end). */
export function deleteRangeOp(start: string, end: string): IRequestOp {
  return { request_delete_range: { key: Buffer.from(start), range_end: Buffer.from(end) } };
}

// Compares

export function modEquals(key: string, modRevision: number): ICompare {
  return { key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: modRevision };
}

export function doesNotExist(key: string): ICompare {
  return { key: Buffer.from(key), target: 'Version', result: 'Equal', version: 0 };
}

/** The key is still the one created at `createRevision` (not deleted and created again). */
export function createdAt(key: string, createRevision: number): ICompare {
  return { key: Buffer.from(key), target: 'Create', result: 'Equal',
    create_revision: createRevision };
}

/** No key under `prefix` changed after `revision` (keys deleted since are not seen: callers
 *  guard those through another key). */
export function unchangedSince(prefix: string, revision: number): ICompare {
  return { key: Buffer.from(prefix), range_end: prefixEnd(prefix), target: 'Mod', result: 'Less',
    mod_revision: revision + 1 };
}

// Answers

export function rangesOf(response: ITxnResponse): IRangeResponse[] {
  return response.responses.map((op) => {
    assert.ok(op.response_range !== undefined && op.response_range !== null, 'a read op');
    return op.response_range;
  });
}

export function versionedOf<T>(range: IRangeResponse | undefined, decode: (value: Buffer) => T):
  Versioned<T> {
  assert.ok(range !== undefined, 'one range response per read');
  const [kv] = range.kvs;
  if (kv === undefined) return absent;
  return { value: decode(kv.value), modRevision: revisionOf({ revision: kv.mod_revision }) };
}

/** Runs a transaction after checking that no branch exceeds `txnOpsMax` (EtcdTxnTooLargeError:
 *  etcd would refuse it anyway, with a less helpful message). */
export async function txnWithin(client: Etcd3, txnOpsMax: number, compare: ICompare[],
  success: IRequestOp[], failure: IRequestOp[]): Promise<ITxnResponse> {
  const largest = Math.max(compare.length, success.length, failure.length);
  if (largest > txnOpsMax) {
    throw new EtcdTxnTooLargeError(`a transaction needs ${largest} ops in one branch; ` +
      `txnOpsMax is ${txnOpsMax} (raise it with etcd's --max-txn-ops, or commit fewer ` +
      'partitions per object)');
  }
  return client.kv.txn({ compare, success, failure });
}

// Range reads

export interface RangeOptions {
  /** Read at this revision (0 or absent: the latest; the first page fixes it for the rest). */
  revision?: number;
  keysOnly?: boolean;
  /** At most this many keys in all. */
  limit?: number;
}

/**
 * Keys in [start, end) in pages of rangePageKeysMax, at most `limit` in all. Every page after
 * the first reads at the first page's revision, so the pages form one snapshot.
 */
export async function* rangePages(client: Etcd3, start: Buffer, end: Buffer,
  options: RangeOptions = {}): AsyncGenerator<IKeyValue[]> {
  let remaining = options.limit ?? Number.MAX_SAFE_INTEGER;
  let revision = options.revision ?? 0;
  let from: Buffer = start;
  while (remaining > 0) {
    const limit = Math.min(remaining, etcdKitLimits.rangePageKeysMax);
    const response = await client.kv.range({ key: from, range_end: end, limit,
      keys_only: options.keysOnly ?? false, ...(revision > 0 ? { revision } : {}) });
    if (revision === 0) revision = revisionOf(response.header);
    remaining -= response.kvs.length;
    yield response.kvs;
    const last = response.kvs.at(-1);
    if (!response.more || last === undefined) return;
    from = Buffer.concat([last.key, Buffer.from([0])]);
  }
}

/** Every key under `prefix` (paged, one snapshot). */
export async function rangePrefix(client: Etcd3, prefix: string, options: RangeOptions = {}):
  Promise<IKeyValue[]> {
  const kvs: IKeyValue[] = [];
  for await (const page of rangePages(client, Buffer.from(prefix), prefixEnd(prefix), options)) {
    kvs.push(...page);
  }
  return kvs;
}
