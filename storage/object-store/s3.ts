/**
 * The S3 engine (AWS S3, MinIO and other S3-compatible stores) on @aws-sdk/client-s3.
 *
 * Retries are the SDK's "standard" strategy, configured rather than reinvented: exponential
 * backoff with full jitter (base 100 ms, 500 ms when throttled, capped at 20 s) on 5xx, throttling,
 * timeouts and connection resets, limited by `maxAttempts` and by the SDK's retry-token bucket,
 * which stops retrying when most requests fail instead of multiplying load on a sick store.
 * Every attempt is bounded: `requestTimeoutMs` caps connecting, the wait for response headers, and
 * any idle gap while streaming a body, so a hung request fails as Timeout and is retried.
 */
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import {
  assertBodySize,
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  resolvePageSize,
} from './keys.js';
import {
  ObjectStoreError,
  type ListOptions,
  type ObjectHead,
  type ObjectMeta,
  type ObjectBody,
  type ObjectStore,
  type ObjectStoreOp,
  bodyAsBuffer,
  type ObjectStoreStats,
} from './object-store.js';
import { attemptsOf, errorNameOf, httpStatusOf, isNoSuchKey, mapS3Error } from './s3-errors.js';
import { StatsRecorder } from './stats.js';
import { objectStoreLimits, s3StoreDefaults, s3StoreLimits } from '../limits.js';

export interface S3StoreConfig {
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** e.g. http://127.0.0.1:9000; omit for AWS itself. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (host/bucket/key): needed by MinIO and most self-hosted stores. */
  forcePathStyle?: boolean;
  /** Prepended to every key, '' or ending in '/', so several clusters can share one bucket. */
  keyPrefix?: string;
  /** Per attempt: connect, wait for headers, and longest idle gap in a body. */
  requestTimeoutMs?: number;
  /** Attempts per request, first one included. */
  maxAttempts?: number;
}


type ResolvedConfig = Required<Omit<S3StoreConfig, 'endpoint'>> & { endpoint: string | undefined };

function resolveConfig(config: S3StoreConfig): ResolvedConfig {
  const resolved = { ...s3StoreDefaults, ...config, endpoint: config.endpoint };
  assert.ok(resolved.bucket.length > 0, 'bucket must be set');
  assert.ok(
    resolved.requestTimeoutMs >= s3StoreLimits.requestTimeoutMsMin &&
      resolved.requestTimeoutMs <= s3StoreLimits.requestTimeoutMsMax,
    `requestTimeoutMs ${resolved.requestTimeoutMs} outside limits`,
  );
  assert.ok(
    Number.isSafeInteger(resolved.maxAttempts) &&
      resolved.maxAttempts >= 1 &&
      resolved.maxAttempts <= s3StoreLimits.maxAttemptsMax,
    `maxAttempts ${resolved.maxAttempts} must be 1..${s3StoreLimits.maxAttemptsMax}`,
  );
  assert.ok(
    resolved.keyPrefix === '' || resolved.keyPrefix.endsWith('/'),
    'keyPrefix must end in /',
  );
  assertValidPrefix(resolved.keyPrefix);
  return resolved;
}

export class S3Store implements ObjectStore {
  readonly engine = 's3';
  private readonly recorder = new StatsRecorder();
  private readonly client: S3Client;
  private readonly config: ResolvedConfig;

  constructor(config: S3StoreConfig) {
    this.config = resolveConfig(config);
    const timeoutMs = this.config.requestTimeoutMs;
    this.client = new S3Client({
      ...(this.config.endpoint === undefined ? {} : { endpoint: this.config.endpoint }),
      region: this.config.region,
      forcePathStyle: this.config.forcePathStyle,
      credentials: {
        accessKeyId: this.config.accessKeyId,
        secretAccessKey: this.config.secretAccessKey,
      },
      maxAttempts: this.config.maxAttempts,
      retryMode: 'standard',
      requestHandler: {
        connectionTimeout: timeoutMs,
        requestTimeout: timeoutMs,
        // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
        throwOnRequestTimeout: true,
        socketTimeout: timeoutMs,
        httpAgent: { keepAlive: true, maxSockets: s3StoreLimits.httpSocketsMax },
        httpsAgent: { keepAlive: true, maxSockets: s3StoreLimits.httpSocketsMax },
      },
    });
  }

  /** Creates the bucket if missing: for tests and dev setups; production buckets pre-exist. */
  async ensureBucket(): Promise<void> {
    const Bucket = this.config.bucket;
    try {
      // us-east-1 is the one region that must not be named as a location constraint.
      const LocationConstraint = this.config.region as BucketLocationConstraint;
      const configuration =
        this.config.region === 'us-east-1'
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint } };
      await this.client.send(new CreateBucketCommand({ Bucket, ...configuration }));
    } catch (error) {
      const name = errorNameOf(error);
      if (name === 'BucketAlreadyOwnedByYou') return;
      // BucketAlreadyExists may mean "someone else's": fine only if we can use it.
      if (name !== 'BucketAlreadyExists') throw mapS3Error('head', Bucket, error);
      await this.client.send(new HeadBucketCommand({ Bucket })).catch((headError: unknown) => {
        throw mapS3Error('head', Bucket, headError);
      });
    }
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    this.begin('put', key);
    this.recorder.bytesIn(assertBodySize('put', key, body));
    await this.recorder.guard('put', key, mapS3Error, async () => {
      const out = await this.client.send(new PutObjectCommand({ ...this.target(key),
        Body: bodyAsBuffer(body) }));
      this.countAttempts(out.$metadata.attempts);
    });
  }

  async putIfAbsent(key: string, body: ObjectBody): Promise<boolean> {
    this.begin('putIfAbsent', key);
    this.recorder.bytesIn(assertBodySize('putIfAbsent', key, body));
    return this.recorder.guard('putIfAbsent', key, mapS3Error, () => this.createOnce(key, body));
  }

  async get(key: string): Promise<Buffer | null> {
    this.begin('get', key);
    return this.recorder.guard('get', key, mapS3Error, async () => {
      const body = await this.readObject('get', key, undefined);
      if (body !== null) this.recorder.bytesOut(body.length);
      return body;
    });
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Buffer> {
    assertValidRange(start, endExclusive);
    this.begin('getRange', key);
    return this.recorder.guard('getRange', key, mapS3Error, async () => {
      const body = await this.readObject('getRange', key, { start, endExclusive });
      if (body === null) throw new ObjectStoreError('NotFound', 'getRange', key, 'no such key');
      this.recorder.bytesOut(body.length);
      return body;
    });
  }

  async head(key: string): Promise<ObjectHead | null> {
    this.begin('head', key);
    return this.recorder.guard('head', key, mapS3Error, async () => {
      try {
        const out = await this.client.send(new HeadObjectCommand(this.target(key)));
        this.countAttempts(out.$metadata.attempts);
        return {
          sizeBytes: out.ContentLength ?? 0,
          lastModifiedMs: out.LastModified?.getTime() ?? 0,
        };
      } catch (error) {
        this.countAttempts(attemptsOf(error));
        if (isNoSuchKey(error)) return null;
        throw error;
      }
    });
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta> {
    assertValidPrefix(prefix);
    const pageSize = resolvePageSize(options?.pageSize);
    let previousKey = options?.startAfter ?? '';
    let continuationToken: string | undefined;
    for (;;) {
      this.recorder.request('list');
      const page = await this.recorder.guard('list', prefix, mapS3Error, () =>
        this.listPage(prefix, pageSize, continuationToken, options?.startAfter),
      );
      for (const meta of page.objects) {
        // S3 promises ascending order; the broker's recovery relies on it, so check it.
        assert.ok(meta.key > previousKey, `list out of order: ${meta.key} after ${previousKey}`);
        previousKey = meta.key;
        yield meta;
      }
      if (page.nextToken === undefined) return;
      continuationToken = page.nextToken;
    }
  }

  async delete(key: string): Promise<void> {
    this.begin('delete', key);
    await this.recorder.guard('delete', key, mapS3Error, async () => {
      // S3 answers 204 for a missing key too, which is the idempotence the interface promises.
      const out = await this.client.send(new DeleteObjectCommand(this.target(key)));
      this.countAttempts(out.$metadata.attempts);
    });
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    assert.ok(
      keys.length <= objectStoreLimits.deleteManyKeysMax,
      `${keys.length} keys is too many`,
    );
    for (const key of keys) assertValidKey('deleteMany', key);
    this.recorder.request('deleteMany', keys.length);
    const batchMax = objectStoreLimits.deleteBatchKeysMax;
    for (let offset = 0; offset < keys.length; offset += batchMax) {
      const batch = keys.slice(offset, offset + batchMax);
      await this.recorder.guard('deleteMany', batch[0] ?? '', mapS3Error, () =>
        this.deleteBatch(batch),
      );
    }
  }

  stats(): ObjectStoreStats {
    return this.recorder.snapshot();
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private begin(op: ObjectStoreOp, key: string): void {
    assertValidKey(op, key);
    assertValidKey(op, this.config.keyPrefix + key); // the prefixed key must fit S3's limit too
    this.recorder.request(op);
  }

  private target(key: string): { Bucket: string; Key: string } {
    return { Bucket: this.config.bucket, Key: this.config.keyPrefix + key };
  }

  private countAttempts(attempts: number | undefined): void {
    this.recorder.retries(Math.max(0, (attempts ?? 1) - 1));
  }

  /**
   * One conditional create. Two wrinkles: S3 may answer 409 ConditionalRequestConflict while
   * another conditional write on the key is in flight (try again: the next answer is 200 or 412);
   * and a 412 after an SDK retry may be our own earlier attempt having landed before its response
   * was lost, so a 412 then is checked against the stored bytes.
   */
  private async createOnce(key: string, parts: ObjectBody): Promise<boolean> {
    // One buffer for every attempt: the SDK needs the whole body (length, checksum, retries).
    const body = bodyAsBuffer(parts);
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.client.send(
          new PutObjectCommand({ ...this.target(key), Body: body, IfNoneMatch: '*' }),
        );
        this.countAttempts(out.$metadata.attempts);
        return true;
      } catch (error) {
        this.countAttempts(attemptsOf(error));
        const status = httpStatusOf(error);
        if (status === 412)
          return attempt > 1 || attemptsOf(error) > 1 ? this.storedEquals(key, body) : false;
        if (status !== 409 || attempt >= s3StoreLimits.conditionalAttemptsMax) throw error;
        await sleepMs(Math.random() * s3StoreLimits.conditionalBackoffMsMax * attempt);
      }
    }
  }

  /** Whether the object at `key` holds exactly `body`: an internal read, counted as a retry. */
  private async storedEquals(key: string, body: Buffer): Promise<boolean> {
    this.recorder.retries(1);
    const stored = await this.readObject('putIfAbsent', key, undefined);
    return stored !== null && stored.equals(body);
  }

  private async readObject(
    op: ObjectStoreOp,
    key: string,
    range: { start: number; endExclusive: number } | undefined,
  ): Promise<Buffer | null> {
    const Range =
      range === undefined ? undefined : `bytes=${range.start}-${range.endExclusive - 1}`;
    for (let attempt = 1; ; attempt++) {
      let out: GetObjectCommandOutput;
      try {
        out = await this.client.send(new GetObjectCommand({ ...this.target(key), Range }));
        this.countAttempts(out.$metadata.attempts);
      } catch (error) {
        this.countAttempts(attemptsOf(error));
        if (isNoSuchKey(error) && range === undefined) return null;
        throw error;
      }
      try {
        return await readBody(op, key, out, range);
      } catch (error) {
        // A body that broke mid-stream is a network failure the SDK does not retry; we do.
        if (error instanceof ObjectStoreError || attempt >= s3StoreLimits.bodyReadAttemptsMax)
          throw error;
        this.recorder.retries(1);
      }
    }
  }

  private async listPage(
    prefix: string,
    pageSize: number,
    continuationToken: string | undefined,
    startAfter: string | undefined,
  ): Promise<{ objects: ObjectMeta[]; nextToken: string | undefined }> {
    const keyPrefix = this.config.keyPrefix;
    const out = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.config.bucket,
        Prefix: keyPrefix + prefix,
        MaxKeys: pageSize,
        ContinuationToken: continuationToken,
        StartAfter: startAfter === undefined ? undefined : keyPrefix + startAfter,
      }),
    );
    this.countAttempts(out.$metadata.attempts);
    const contents = out.Contents ?? [];
    assert.ok(contents.length <= pageSize, `server returned ${contents.length} > ${pageSize} keys`);
    const objects = contents.map((item) => {
      const fullKey = item.Key ?? '';
      assert.ok(fullKey.startsWith(keyPrefix), `listed key ${fullKey} outside ${keyPrefix}`);
      return {
        key: fullKey.slice(keyPrefix.length),
        sizeBytes: item.Size ?? 0,
        lastModifiedMs: item.LastModified?.getTime() ?? 0,
      };
    });
    if (out.IsTruncated !== true) return { objects, nextToken: undefined };
    assert.ok(out.NextContinuationToken, 'truncated listing without a continuation token');
    return { objects, nextToken: out.NextContinuationToken };
  }

  private async deleteBatch(keys: readonly string[]): Promise<void> {
    assert.ok(keys.length >= 1 && keys.length <= objectStoreLimits.deleteBatchKeysMax);
    const out = await this.client.send(
      new DeleteObjectsCommand({
        Bucket: this.config.bucket,
        // Quiet: the response lists only failures, not every deleted key.
        Delete: { Objects: keys.map((key) => ({ Key: this.config.keyPrefix + key })), Quiet: true },
      }),
    );
    this.countAttempts(out.$metadata.attempts);
    const first = out.Errors?.[0];
    if (first !== undefined) {
      const failed = out.Errors?.length ?? 0;
      const detail = `${failed} key(s) failed, first: ${first.Code} ${first.Message}`;
      const code =
        first.Code === 'SlowDown' || first.Code === 'InternalError' ? 'Unavailable' : 'Rejected';
      throw new ObjectStoreError(code, 'deleteMany', first.Key ?? '', detail);
    }
  }
}

/**
 * Reads a GET body after checking its size against what was asked for, before buffering it: a
 * server that ignored the Range header would otherwise hand back the whole object.
 */
async function readBody(
  op: ObjectStoreOp,
  key: string,
  out: GetObjectCommandOutput,
  range: { start: number; endExclusive: number } | undefined,
): Promise<Buffer> {
  const body = out.Body;
  assert.ok(body !== undefined, 'GetObject returned no body');
  const sizeBytes = out.ContentLength;
  assert.ok(sizeBytes !== undefined, 'GetObject returned no Content-Length');
  const wanted = range === undefined ? undefined : range.endExclusive - range.start;
  let problem: ObjectStoreError | undefined;
  if (sizeBytes > objectStoreLimits.objectBytesMax) {
    problem = new ObjectStoreError('TooLarge', op, key, `${sizeBytes}-byte object`);
  } else if (range !== undefined && !(out.ContentRange ?? '').startsWith(`bytes ${range.start}-`)) {
    problem = new ObjectStoreError(
      'Rejected',
      op,
      key,
      `server ignored Range, sent ${out.ContentRange}`,
    );
  } else if (wanted !== undefined && sizeBytes < wanted) {
    // S3 clips a range that runs past the end; the interface promises exact reads instead.
    const detail = `range [${range?.start}, ${range?.endExclusive}) past end (${out.ContentRange})`;
    problem = new ObjectStoreError('RangeNotSatisfiable', op, key, detail);
  }
  if (problem !== undefined) {
    // Release the socket without reading a body we will not use.
    (body as { destroy?: () => void }).destroy?.();
    throw problem;
  }
  const bytes = await body.transformToByteArray();
  assert.equal(bytes.length, sizeBytes, 'body length differs from Content-Length');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function sleepMs(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}
