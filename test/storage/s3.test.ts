/**
 * The S3 engine against a real MinIO process on 127.0.0.1 (test/helpers/s3-server.ts): the shared
 * contract, then retries and timeouts, injected by a small proxy in front of the real server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ObjectStoreError, listAll } from '../../storage/object-store/object-store.js';
import { S3Store, type S3StoreConfig } from '../../storage/object-store/s3.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { describeObjectStoreContract } from './object-store.contract.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

const bucket = 'ledgerstream-test';
let server: S3Server;
let storesMade = 0;

beforeAll(async () => {
  server = await startS3Server();
  const admin = new S3Store(configFor(server.endpoint, 'admin/'));
  await admin.ensureBucket();
  await admin.ensureBucket(); // idempotent: a second call finds the bucket ours
  await admin.close();
});

afterAll(async () => {
  await server?.stop();
});

/** Each store gets its own key prefix, so tests share one bucket yet start empty. */
function configFor(
  endpoint: string,
  keyPrefix: string,
  overrides: Partial<S3StoreConfig> = {},
): S3StoreConfig {
  return {
    endpoint,
    region: server.region,
    bucket,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    keyPrefix,
    requestTimeoutMs: 10_000,
    maxAttempts: 3,
    ...overrides,
  };
}

function freshStore(endpoint: string, overrides: Partial<S3StoreConfig> = {}): S3Store {
  storesMade += 1;
  return new S3Store(configFor(endpoint, `t${storesMade}/`, overrides));
}

describeObjectStoreContract('s3 (MinIO)', async () => freshStore(server.endpoint));

describe('s3 retries and timeouts (fault proxy in front of MinIO)', () => {
  let proxy: FaultProxy;
  const opened: S3Store[] = [];
  const storeViaProxy = (overrides: Partial<S3StoreConfig> = {}): S3Store => {
    const store = freshStore(proxy.endpoint, overrides);
    opened.push(store);
    return store;
  };
  beforeAll(async () => {
    proxy = await startFaultProxy(server.endpoint);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  afterAll(async () => {
    await proxy.close();
  });

  it('retries 500s with backoff until the server answers', async () => {
    const store = storeViaProxy();
    proxy.inject('PUT', ['fail500', 'fail500']);
    await store.put('k', Buffer.from('value'));
    proxy.inject('GET', ['fail500', 'fail500']);
    expect((await store.get('k'))?.toString()).toBe('value');
    expect(store.stats()).toMatchObject({ puts: 1, gets: 1, errors: 0, retries: 4 });
  });

  it('gives up after maxAttempts with a retriable Unavailable error', async () => {
    const store = storeViaProxy({ maxAttempts: 2 });
    const before = proxy.counts().byMethod['HEAD'] ?? 0;
    proxy.inject('HEAD', ['fail500', 'fail500']);
    const error = await store.head('k').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ObjectStoreError);
    expect((error as ObjectStoreError).code).toBe('Unavailable');
    expect((error as ObjectStoreError).retriable).toBe(true);
    expect((proxy.counts().byMethod['HEAD'] ?? 0) - before).toBe(2);
    expect(store.stats()).toMatchObject({ heads: 1, errors: 1, retries: 1 });
  });

  it('times out a hung request and retries it', async () => {
    const store = storeViaProxy({ requestTimeoutMs: 300 });
    await store.put('k', Buffer.from('value'));
    proxy.inject('GET', ['hang']);
    const startMs = performance.now();
    expect((await store.getRange('k', 1, 3)).toString()).toBe('al');
    const elapsedMs = performance.now() - startMs;
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(5_000);
    expect(store.stats().retries).toBe(1);
  });

  it('fails with Timeout when every attempt hangs', async () => {
    const store = storeViaProxy({ requestTimeoutMs: 200, maxAttempts: 2 });
    proxy.inject('GET', ['hang', 'hang']);
    const error = await store.get('k').catch((caught: unknown) => caught);
    expect((error as ObjectStoreError).code).toBe('Timeout');
  });

  it('reports a putIfAbsent as won when only its response was lost', async () => {
    const store = storeViaProxy();
    // Attempt 1 lands but its answer becomes a 500; the SDK's retry then gets 412.
    proxy.inject('PUT', ['forwardThenFail500']);
    expect(await store.putIfAbsent('lock', Buffer.from('mine'))).toBe(true);
    expect((await store.get('lock'))?.toString()).toBe('mine');
    // Same shape of failure, but the key already held someone else's bytes: a real loss.
    proxy.inject('PUT', ['fail500']);
    expect(await store.putIfAbsent('lock', Buffer.from('other'))).toBe(false);
  });
});

describe('s3 specifics', () => {
  it('keeps key prefixes apart and strips the prefix from listed keys', async () => {
    const first = freshStore(server.endpoint);
    const second = freshStore(server.endpoint);
    await first.put('shared/name', Buffer.from('1'));
    await second.put('shared/name', Buffer.from('2'));
    expect((await listAll(first, '', 10)).map((meta) => meta.key)).toEqual(['shared/name']);
    expect((await second.get('shared/name'))?.toString()).toBe('2');
    await Promise.all([first.close(), second.close()]);
  });

  it('rejects bad configuration before sending anything', () => {
    expect(() => freshStore(server.endpoint, { maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => freshStore(server.endpoint, { requestTimeoutMs: 1 })).toThrow(/requestTimeoutMs/);
    expect(() => freshStore(server.endpoint, { keyPrefix: 'no-slash' })).toThrow(/keyPrefix/);
  });

  it('maps a missing bucket to a non-retriable Rejected error', async () => {
    const store = freshStore(server.endpoint, { bucket: 'no-such-bucket' });
    const error = await store.get('k').catch((caught: unknown) => caught);
    expect((error as ObjectStoreError).code).toBe('Rejected');
    expect((error as ObjectStoreError).retriable).toBe(false);
    await store.close();
  });
});
