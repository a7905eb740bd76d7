/**
 * Segment keys: valid for every engine, parse back, and LIST in creation order, including two keys
 * in one millisecond and a wall clock that steps back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertValidKey } from '../../../storage/object-store/keys.js';
import { LocalFolderStore } from '../../../storage/object-store/local-folder.js';
import { listAll } from '../../../storage/object-store/object-store.js';
import {
  formatSegmentKey,
  newSegmentKey,
  parseSegmentKey,
  SegmentKeyAllocator,
  segmentKeyPrefix,
} from '../../../storage/segment/naming.js';

const createdDirs: string[] = [];
afterAll(async () => {
  await Promise.all(createdDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('segment key naming', () => {
  it('formats fixed-width keys that keys.ts accepts and parses them back', () => {
    const parts = { createdAtMs: 1_767_225_600_000, nodeId: 3, nonce: '9f86d081' };
    const key = formatSegmentKey(parts);
    expect(key).toBe('segments/00000001767225600000-0000000003-9f86d081.seg');
    expect(() => assertValidKey('put', key)).not.toThrow();
    expect(parseSegmentKey(key)).toEqual(parts);
    const widest = formatSegmentKey({
      createdAtMs: Number.MAX_SAFE_INTEGER,
      nodeId: 0x7fff_ffff,
      nonce: 'ffffffff',
    });
    expect(widest.length).toBe(key.length);
    expect(() => assertValidKey('put', widest)).not.toThrow();
  });

  it('parses only its own keys', () => {
    for (const other of [
      'segments/1767225600000-3-9f86d081.seg',
      'segments/00000001767225600000-0000000003-9F86D081.seg',
      'segments/00000001767225600000-0000000003-9f86d081.tmp',
      'topics/t/0000000000/00000000000000000000.seg',
      'segments/00000001767225600000-9999999999-9f86d081.seg', // node id beyond int32
      'segments/99999999999999999999-0000000003-9f86d081.seg', // beyond 2^53
    ]) {
      expect(parseSegmentKey(other)).toBeNull();
    }
  });

  it('asserts on parts it cannot format', () => {
    expect(() => formatSegmentKey({ createdAtMs: -1, nodeId: 0, nonce: '00000000' })).toThrow();
    expect(() => formatSegmentKey({ createdAtMs: 0, nodeId: -1, nonce: '00000000' })).toThrow();
    expect(() => formatSegmentKey({ createdAtMs: 0, nodeId: 0, nonce: 'xyz' })).toThrow();
  });

  it('allocates strictly ascending keys through equal and backward clock readings', () => {
    const allocator = new SegmentKeyAllocator(7, () => '00000000');
    const keys = [1000, 1000, 1000, 900, 1002, 5000].map((nowMs) => allocator.next(nowMs));
    const times = keys.map((key) => parseSegmentKey(key)?.createdAtMs);
    expect(times).toEqual([1000, 1001, 1002, 1003, 1004, 5000]);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('newSegmentKey is monotonic per node id and distinct across node ids', () => {
    const a1 = newSegmentKey(41, 2000);
    const a2 = newSegmentKey(41, 2000);
    const b1 = newSegmentKey(42, 2000);
    expect(a1 < a2).toBe(true);
    expect(parseSegmentKey(b1)).toMatchObject({ createdAtMs: 2000, nodeId: 42 });
  });

  it('LISTs in creation order from a real store', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-naming-'));
    createdDirs.push(dir);
    const store = await LocalFolderStore.open({ rootDir: dir });
    // Random nonces: order must come from the time part alone.
    const allocator = new SegmentKeyAllocator(1);
    const created: string[] = [];
    for (const nowMs of [5, 5, 5, 10, 99, 100, 1_000_000, 1_000_000, 20]) {
      const key = allocator.next(nowMs);
      created.push(key);
      await store.put(key, Buffer.from(key));
    }
    const listed = await listAll(store, segmentKeyPrefix, 100, { pageSize: 2 });
    expect(listed.map((meta) => meta.key)).toEqual(created);
    await store.close();
  });
});
