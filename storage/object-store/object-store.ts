/**
 * The object store: the source of truth for flushed segments.
 *
 * One narrow interface with several engines behind it (local folder, S3, and a fault-injecting
 * wrapper).
 * Every engine runs the same contract suite (test/storage/object-store.contract.ts), so the
 * semantics below are the ones callers may rely on, whatever the engine:
 *
 * - Keys are validated identically everywhere (see keys.ts); a bad key throws `InvalidKey`.
 * - `put` is atomic: a reader sees the old object or the new one, never a torn one.
 * - `putIfAbsent` is a conditional create: of N concurrent calls on one key, exactly one returns
 *   true.
 * - `getRange` returns exactly `endExclusive - start` bytes or throws; it never returns a short
 *   read, because a short read of a segment is corruption, not data.
 * - `list` yields keys in ascending byte (= UTF-16 code unit, keys are ASCII) order, one page per
 *   request, so a caller can stop early without reading the whole prefix.
 * - `delete` and `deleteMany` are idempotent: deleting a missing key succeeds.
 * - `stats()` counts requests at this interface, so broker tests can assert that a read was served
 *   by the store (or, just as usefully, that it was not).
 */

export interface ObjectHead {
  sizeBytes: number;
  lastModifiedMs: number;
}

export interface ObjectMeta extends ObjectHead {
  key: string;
}

export interface ListOptions {
  /** Keys per list request, 1..listPageSizeMax; small values let tests exercise pagination. */
  pageSize?: number;
  /** Yield only keys strictly greater than this one (resumes an earlier listing). */
  startAfter?: string;
}

/**
 * Requests made through one store since it was created. Counts are per call at this interface
 * (retries inside an engine are counted separately in `retries`), so every engine counts alike.
 */
export interface ObjectStoreStats {
  /** put and putIfAbsent calls. */
  puts: number;
  /** get calls (whole-object reads). */
  gets: number;
  /** getRange calls. */
  rangeGets: number;
  /** head calls. */
  heads: number;
  /** List pages requested (not keys listed). */
  lists: number;
  /** Keys passed to delete and deleteMany. */
  deletes: number;
  /** Bytes sent to the store in put bodies, conditional puts that lost included. */
  bytesIn: number;
  /** Bytes received from the store by get and getRange. */
  bytesOut: number;
  /** Calls that threw ObjectStoreError (a missing key answered with null is not an error). */
  errors: number;
  /** Extra attempts an engine made inside a call (S3 SDK retries); 0 for the local folder. */
  retries: number;
}

export type ObjectStoreErrorCode =
  /** The key or prefix breaks the rules in keys.ts: a caller bug. */
  | 'InvalidKey'
  /** getRange on a key that does not exist. */
  | 'NotFound'
  /** getRange reaching past the end of the object. */
  | 'RangeNotSatisfiable'
  /** A body or object larger than objectBytesMax. */
  | 'TooLarge'
  /** The key cannot be stored here: a local folder where `a` is a file and `a/b` is asked for. */
  | 'Conflict'
  /** The request timed out after all attempts; a timed-out put may or may not have landed. */
  | 'Timeout'
  /** Server errors, throttling or connection failures after all attempts. Retriable later. */
  | 'Unavailable'
  /** The store refused the request (auth, missing bucket, bad request). Not retriable. */
  | 'Rejected'
  /** A local I/O failure (disk full, EIO). */
  | 'Io';

export type ObjectStoreOp =
  'put' | 'putIfAbsent' | 'get' | 'getRange' | 'head' | 'list' | 'delete' | 'deleteMany';

/** The one error type every engine throws: engines wrap what they catch, so no SDK type leaks. */
export class ObjectStoreError extends Error {
  override readonly name = 'ObjectStoreError';
  constructor(
    readonly code: ObjectStoreErrorCode,
    readonly op: ObjectStoreOp,
    /** The key (or prefix, for list) the call was about. */
    readonly key: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${op} ${JSON.stringify(key)}: ${code}: ${detail}`, options);
  }

  /** Whether the same call may succeed if tried again later. */
  get retriable(): boolean {
    return this.code === 'Timeout' || this.code === 'Unavailable';
  }
}

/**
 * An object's bytes: one buffer, or the buffers that make it up in order. A segment object is
 * its partitions' batches plus a footer: handed over as a list, a store that can write a list
 * (a file, with writev) never copies the batches into one new buffer first.
 */
export type ObjectBody = Buffer | readonly Buffer[];

/** The size of an object body, in bytes. */
export function bodyBytes(body: ObjectBody): number {
  if (Buffer.isBuffer(body)) return body.length;
  let bytes = 0;
  for (const part of body as readonly Buffer[]) bytes += part.length;
  return bytes;
}

/** The body as one buffer, copying only when it is a list of more than one. */
export function bodyAsBuffer(body: ObjectBody): Buffer {
  if (Buffer.isBuffer(body)) return body;
  const parts = body as readonly Buffer[];
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export interface ObjectStore {
  /** Short engine name for logs and test titles ("local-folder", "s3"). */
  readonly engine: string;
  /** Creates or replaces the object atomically. */
  put(key: string, body: ObjectBody): Promise<void>;
  /** Creates the object only if the key is absent; true if this call created it. */
  putIfAbsent(key: string, body: ObjectBody): Promise<boolean>;
  /** The whole object, or null if the key does not exist. */
  get(key: string): Promise<Buffer | null>;
  /** Exactly bytes [start, endExclusive) of the object; throws NotFound / RangeNotSatisfiable. */
  getRange(key: string, start: number, endExclusive: number): Promise<Buffer>;
  head(key: string): Promise<ObjectHead | null>;
  /** Objects whose key starts with `prefix`, in ascending key order, fetched a page at a time. */
  list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta>;
  /** Removes the object; succeeds if it does not exist. */
  delete(key: string): Promise<void>;
  /** Removes every key given (missing ones included), in batches. Not atomic across keys. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** A snapshot of the counters; later calls do not change a returned object. */
  stats(): ObjectStoreStats;
  /** Releases sockets and handles; the store must not be used afterwards. */
  close(): Promise<void>;
}

/** Collects a whole listing into memory, failing rather than growing without bound. */
export async function listAll(
  store: ObjectStore,
  prefix: string,
  keysMax: number,
  options?: ListOptions,
): Promise<ObjectMeta[]> {
  const out: ObjectMeta[] = [];
  for await (const meta of store.list(prefix, options)) {
    if (out.length === keysMax) {
      throw new ObjectStoreError('TooLarge', 'list', prefix, `more than ${keysMax} keys`);
    }
    out.push(meta);
  }
  return out;
}
