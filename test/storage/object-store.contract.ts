/**
 * The one contract every ObjectStore engine must pass (Tansu's habit: one suite, many engines).
 * Each engine's test file calls `describeObjectStoreContract` with a factory that returns a fresh,
 * empty store per test, so counters and listings start from zero.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  listAll,
  ObjectStoreError,
  type ObjectStore,
  type ObjectStoreStats,
} from '../../storage/object-store/object-store.js';

export interface ContractOptions {
  /** Engine-specific reason to skip the concurrent putIfAbsent assertion; unset runs it. */
  skipPutIfAbsentRace?: string;
}

const listKeysMax = 10_000;

async function keysOf(store: ObjectStore, prefix: string, pageSize?: number): Promise<string[]> {
  const options = pageSize === undefined ? {} : { pageSize };
  return (await listAll(store, prefix, listKeysMax, options)).map((meta) => meta.key);
}

async function expectStoreError(
  promise: Promise<unknown>,
  code: ObjectStoreError['code'],
): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ObjectStoreError);
  expect((error as ObjectStoreError).code).toBe(code);
}

function delta(after: ObjectStoreStats, before: ObjectStoreStats): Partial<ObjectStoreStats> {
  const out: Partial<ObjectStoreStats> = {};
  for (const name of Object.keys(after) as (keyof ObjectStoreStats)[]) {
    const change = after[name] - before[name];
    if (change !== 0 && name !== 'retries') out[name] = change;
  }
  return out;
}

export function describeObjectStoreContract(
  engine: string,
  makeStore: () => Promise<ObjectStore>,
  options: ContractOptions = {},
): void {
  describe(`ObjectStore contract: ${engine}`, () => {
    let store: ObjectStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    describeReadsAndWrites(() => store);
    describeRanges(() => store);
    describePutIfAbsent(() => store, options);
    describeListing(() => store);
    describeDeletes(() => store);
    describeLimitsAndStats(() => store);
  });
}

function describeReadsAndWrites(current: () => ObjectStore): void {
  it('round-trips put and get, including an empty object', async () => {
    const store = current();
    await store.put('topics/t/0000000000/00000000000000000000.seg', Buffer.from('hello'));
    await store.put('empty', Buffer.alloc(0));
    expect(await store.get('topics/t/0000000000/00000000000000000000.seg')).toEqual(
      Buffer.from('hello'),
    );
    expect(await store.get('empty')).toEqual(Buffer.alloc(0));
  });

  it('overwrites the whole object, longer then shorter', async () => {
    const store = current();
    await store.put('k', Buffer.from('first version'));
    await store.put('k', Buffer.from('second, longer version'));
    expect((await store.get('k'))?.toString()).toBe('second, longer version');
    await store.put('k', Buffer.from('3'));
    expect((await store.get('k'))?.toString()).toBe('3');
  });

  it('answers null for a missing key from get and head', async () => {
    const store = current();
    expect(await store.get('missing/key')).toBeNull();
    expect(await store.head('missing/key')).toBeNull();
    // A "directory" of other keys is not itself a key.
    await store.put('dir/child', Buffer.from('x'));
    expect(await store.get('dir')).toBeNull();
    expect(await store.head('dir')).toBeNull();
  });

  it('heads an object with its size and a recent modification time', async () => {
    const store = current();
    const beforeMs = Date.now();
    await store.put('h', Buffer.alloc(1234, 1));
    const head = await store.head('h');
    expect(head?.sizeBytes).toBe(1234);
    // S3 keeps second precision; allow for it and for small clock differences.
    expect(Math.abs((head?.lastModifiedMs ?? 0) - beforeMs)).toBeLessThan(60_000);
  });

  it('round-trips an 8 MiB object and reads ranges from its middle', async () => {
    const store = current();
    const body = randomBytes(8 * 1024 * 1024);
    await store.put('large', body);
    expect((await store.get('large'))?.equals(body)).toBe(true);
    const start = 3 * 1024 * 1024 + 17;
    expect(
      (await store.getRange('large', start, start + 65_536)).equals(
        body.subarray(start, start + 65_536),
      ),
    ).toBe(true);
    expect((await store.head('large'))?.sizeBytes).toBe(body.length);
  });
  it('writes a body given as a list of buffers as their concatenation', async () => {
    const store = current();
    // More parts than one writev takes (IOV_MAX), of uneven sizes, some empty, one large.
    const parts = Array.from({ length: 2_500 }, (_, i) =>
      (i % 97 === 0 ? Buffer.alloc(0) : randomBytes(1 + (i % 700))));
    parts.splice(1_234, 0, randomBytes(3 * 1024 * 1024));
    const whole = Buffer.concat(parts);
    await store.put('list/put', parts);
    expect((await store.get('list/put'))?.equals(whole)).toBe(true);
    expect(await store.putIfAbsent('list/create', parts)).toBe(true);
    expect(await store.putIfAbsent('list/create', [Buffer.from('other')])).toBe(false);
    expect((await store.get('list/create'))?.equals(whole)).toBe(true);
    expect((await store.head('list/create'))?.sizeBytes).toBe(whole.length);
    await store.put('list/empty', []);
    expect(await store.get('list/empty')).toEqual(Buffer.alloc(0));
    const statsBefore = store.stats();
    await store.put('list/counted', [Buffer.from('abc'), Buffer.from('de')]);
    expect(store.stats().bytesIn - statsBefore.bytesIn).toBe(5);
  });
}

function describeRanges(current: () => ObjectStore): void {
  const body = Buffer.from('0123456789abcdefghij'); // 20 bytes

  it('reads exact ranges: first byte, middle, last byte, whole object', async () => {
    const store = current();
    await store.put('r', body);
    expect((await store.getRange('r', 0, 1)).toString()).toBe('0');
    expect((await store.getRange('r', 5, 12)).toString()).toBe('56789ab');
    expect((await store.getRange('r', 19, 20)).toString()).toBe('j');
    expect((await store.getRange('r', 0, 20)).equals(body)).toBe(true);
  });

  it('rejects ranges past the end instead of returning a short read', async () => {
    const store = current();
    await store.put('r', body);
    await expectStoreError(store.getRange('r', 15, 21), 'RangeNotSatisfiable');
    await expectStoreError(store.getRange('r', 20, 21), 'RangeNotSatisfiable');
    await expectStoreError(store.getRange('r', 1000, 1001), 'RangeNotSatisfiable');
  });

  it('rejects a missing key as NotFound, and empty or negative ranges as bugs', async () => {
    const store = current();
    await expectStoreError(store.getRange('missing', 0, 1), 'NotFound');
    await store.put('r', body);
    await expect(store.getRange('r', 5, 5)).rejects.toThrow(/must not be empty/);
    await expect(store.getRange('r', -1, 5)).rejects.toThrow(/start/);
  });
}

function describePutIfAbsent(current: () => ObjectStore, options: ContractOptions): void {
  it('creates when absent and leaves an existing object untouched', async () => {
    const store = current();
    expect(await store.putIfAbsent('lock', Buffer.from('first'))).toBe(true);
    expect(await store.putIfAbsent('lock', Buffer.from('second'))).toBe(false);
    expect((await store.get('lock'))?.toString()).toBe('first');
    await store.delete('lock');
    expect(await store.putIfAbsent('lock', Buffer.from('third'))).toBe(true);
  });

  const raceTitle = 'lets exactly one of 10 concurrent putIfAbsent calls win';
  const race = async (): Promise<void> => {
    const store = current();
    for (let round = 0; round < 5; round++) {
      const key = `race/${round}`;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, writer) =>
          store.putIfAbsent(key, Buffer.from(`writer-${writer}`)),
        ),
      );
      const winners = results.flatMap((won, writer) => (won ? [writer] : []));
      expect(winners).toHaveLength(1);
      expect((await store.get(key))?.toString()).toBe(`writer-${winners[0]}`);
    }
  };
  if (options.skipPutIfAbsentRace === undefined) it(raceTitle, race);
  else it.skip(`${raceTitle} (skipped: ${options.skipPutIfAbsentRace})`, race);
}

function describeListing(current: () => ObjectStore): void {
  const segmentKeys = [0, 7, 42, 1000, 99_999, 123_456_789].map(
    (offset) => `topics/t/0000000003/${String(offset).padStart(20, '0')}.seg`,
  );

  it('lists zero-padded keys in order whatever the order they were written', async () => {
    const store = current();
    for (const key of [...segmentKeys].reverse()) await store.put(key, Buffer.from(key));
    await store.put('topics/t/0000000010/00000000000000000000.seg', Buffer.from('p10'));
    expect(await keysOf(store, 'topics/t/0000000003/')).toEqual(segmentKeys);
    const listed = await listAll(store, 'topics/t/0000000003/', listKeysMax);
    expect(listed[0]?.sizeBytes).toBe(Buffer.byteLength(segmentKeys[0] ?? ''));
  });

  it('lists in byte order across "/" boundaries and filters by partial prefixes', async () => {
    const store = current();
    const keys = ['a/b', 'a-c', 'a.b', 'a/a/z', 'ab', 'b', 'topics/t2/x', 'topics/t/y'];
    for (const key of keys) await store.put(key, Buffer.from('v'));
    expect(await keysOf(store, '')).toEqual([...keys].sort());
    expect(await keysOf(store, 'a')).toEqual(['a-c', 'a.b', 'a/a/z', 'a/b', 'ab']);
    expect(await keysOf(store, 'a/')).toEqual(['a/a/z', 'a/b']);
    expect(await keysOf(store, 'topics/t/')).toEqual(['topics/t/y']);
    expect(await keysOf(store, 'topics/t')).toEqual(['topics/t/y', 'topics/t2/x']);
    expect(await keysOf(store, 'nothing/here/')).toEqual([]);
  });

  it('pages through a listing, one request per page, and resumes after a key', async () => {
    const store = current();
    const keys = Array.from({ length: 7 }, (_, i) => `p/${String(i).padStart(4, '0')}`);
    for (const key of keys) await store.put(key, Buffer.from('v'));
    const before = store.stats();
    expect(await keysOf(store, 'p/', 3)).toEqual(keys);
    expect(store.stats().lists - before.lists).toBe(3); // 3 + 3 + 1
    const resumed = await listAll(store, 'p/', listKeysMax, { pageSize: 2, startAfter: 'p/0003' });
    expect(resumed.map((meta) => meta.key)).toEqual(keys.slice(4));
  });

  it('stops requesting pages when the caller stops iterating', async () => {
    const store = current();
    for (let i = 0; i < 5; i++) await store.put(`early/${i}`, Buffer.from('v'));
    const before = store.stats();
    for await (const meta of store.list('early/', { pageSize: 2 })) {
      expect(meta.key).toBe('early/0');
      break;
    }
    expect(store.stats().lists - before.lists).toBe(1);
  });
}

function describeDeletes(current: () => ObjectStore): void {
  it('deletes idempotently', async () => {
    const store = current();
    await store.put('d/x', Buffer.from('x'));
    await store.delete('d/x');
    expect(await store.get('d/x')).toBeNull();
    await store.delete('d/x');
    await store.delete('never/existed');
    expect(await keysOf(store, '')).toEqual([]);
  });

  it('deletes many keys, missing ones included, and nothing else', async () => {
    const store = current();
    const keys = Array.from({ length: 12 }, (_, i) => `m/${String(i).padStart(3, '0')}`);
    for (const key of keys) await store.put(key, Buffer.from(key));
    await store.deleteMany([...keys.slice(0, 10), 'm/missing', 'other/missing']);
    expect(await keysOf(store, '')).toEqual(keys.slice(10));
    await store.deleteMany([]);
    expect(await keysOf(store, '')).toEqual(keys.slice(10));
  });
}

function describeLimitsAndStats(current: () => ObjectStore): void {
  it('rejects invalid keys without sending a request', async () => {
    const store = current();
    const before = store.stats();
    const bad = [
      '',
      '/abs',
      'a//b',
      'a/',
      '../x',
      'a/../b',
      'a/./b',
      '.hidden',
      'sp ace',
      'é',
      'k'.repeat(1025),
    ];
    for (const key of bad) {
      await expectStoreError(store.put(key, Buffer.from('x')), 'InvalidKey');
      await expectStoreError(store.get(key), 'InvalidKey');
    }
    await expectStoreError(listAll(store, '../', listKeysMax), 'InvalidKey');
    expect(store.stats()).toEqual(before);
  });

  it('counts requests and bytes per call', async () => {
    const store = current();
    const start = store.stats();
    expect(start).toEqual({
      ...start,
      puts: 0,
      gets: 0,
      rangeGets: 0,
      heads: 0,
      lists: 0,
      deletes: 0,
      bytesIn: 0,
      bytesOut: 0,
      errors: 0,
    });
    await store.put('s/a', Buffer.alloc(100));
    await store.putIfAbsent('s/a', Buffer.alloc(10)); // loses, still a request with a body
    await store.get('s/a');
    await store.get('s/missing'); // null is an answer, not an error
    await store.getRange('s/a', 10, 30);
    await store.head('s/a');
    await keysOf(store, 's/');
    await store.delete('s/a');
    await store.deleteMany(['s/b', 's/c']);
    await expectStoreError(store.getRange('s/missing', 0, 1), 'NotFound');
    expect(delta(store.stats(), start)).toEqual({
      puts: 2,
      gets: 2,
      rangeGets: 2,
      heads: 1,
      lists: 1,
      deletes: 3,
      bytesIn: 110,
      bytesOut: 120,
      errors: 1,
    });
  });
}
