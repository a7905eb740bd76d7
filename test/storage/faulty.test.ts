/**
 * The fault-injecting wrapper: each fault fires exactly as planned, then the store behaves
 * normally.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../storage/object-store/faulty.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';
import { listAll, ObjectStoreError } from '../../storage/object-store/object-store.js';

describe('FaultyObjectStore', () => {
  let dir: string;
  let store: FaultyObjectStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-faulty-'));
    store = new FaultyObjectStore(await LocalFolderStore.open({ rootDir: path.join(dir, 'root') }));
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails the next N calls of one method only, with the chosen code', async () => {
    await store.put('k', Buffer.from('v'));
    store.failNext('get', 2, 'Timeout');
    for (let i = 0; i < 2; i++) {
      const error = await store.get('k').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ObjectStoreError);
      expect((error as ObjectStoreError).code).toBe('Timeout');
      expect((error as ObjectStoreError).retriable).toBe(true);
    }
    expect(await store.head('k')).not.toBeNull(); // other methods unaffected
    expect((await store.get('k'))?.toString()).toBe('v');
    expect(store.injected().failed).toBe(2);
    // Injected failures never reached the inner store, but count as errors.
    expect(store.stats()).toMatchObject({ gets: 1, errors: 2 });
  });

  it('crashes after upload: the object lands, the caller sees a failure', async () => {
    store.crashAfterUpload(1);
    await expect(store.put('seg', Buffer.from('bytes'))).rejects.toThrow(/crash after upload/);
    expect((await store.get('seg'))?.toString()).toBe('bytes'); // the orphan recovery must handle
    await store.put('seg2', Buffer.from('ok')); // one crash only
    store.crashAfterUpload(1);
    await expect(store.putIfAbsent('lock', Buffer.from('me'))).rejects.toThrow(ObjectStoreError);
    expect(await store.putIfAbsent('lock', Buffer.from('me'))).toBe(false); // it did land
    expect(store.injected().crashedAfterUpload).toBe(2);
  });

  it('delays calls, and heal() removes every planned fault', async () => {
    store.delay('list', 100).failNext('delete', 5);
    const startMs = performance.now();
    await listAll(store, '', 10);
    expect(performance.now() - startMs).toBeGreaterThanOrEqual(95);
    store.heal();
    await store.delete('anything');
    const healedStartMs = performance.now();
    await listAll(store, '', 10);
    expect(performance.now() - healedStartMs).toBeLessThan(95);
  });

  it('refuses absurd fault plans', () => {
    expect(() => store.failNext('get', 1e9)).toThrow();
    expect(() => store.delay('get', -1)).toThrow();
  });
});
