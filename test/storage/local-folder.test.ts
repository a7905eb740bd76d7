/**
 * The local folder engine: the shared contract, then what only a file system can get wrong
 * (temp files, directory pruning, the key/path mapping).
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../storage/object-store/faulty.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';
import { listAll, ObjectStoreError } from '../../storage/object-store/object-store.js';
import { describeObjectStoreContract } from './object-store.contract.js';

const createdDirs: string[] = [];

async function freshRoot(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-local-store-'));
  createdDirs.push(dir);
  return path.join(dir, 'root'); // not yet existing: open() must create it
}

afterAll(async () => {
  await Promise.all(createdDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeObjectStoreContract('local-folder', async () =>
  LocalFolderStore.open({ rootDir: await freshRoot() }),
);

// The fault wrapper with no faults planned must be invisible: same contract, same counters.
describeObjectStoreContract('faulty(local-folder), no faults', async () => {
  return new FaultyObjectStore(await LocalFolderStore.open({ rootDir: await freshRoot() }));
});

/** Every file and directory under `dir`, relative, sorted, so tests can assert the exact tree. */
async function treeOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((entry) => entry.split(path.sep).join('/')).sort();
}

describe('local-folder specifics', () => {
  let rootDir: string;
  let store: LocalFolderStore;
  beforeEach(async () => {
    rootDir = await freshRoot();
    store = await LocalFolderStore.open({ rootDir });
  });
  afterEach(async () => {
    await store.close();
  });

  it('maps keys to paths under the root and leaves no temp files behind', async () => {
    await store.put('topics/t/0000000000/00000000000000000000.seg', Buffer.from('a'));
    expect(
      await store.putIfAbsent('topics/t/0000000000/00000000000000000000.seg', Buffer.from('b')),
    ).toBe(false);
    await store.putIfAbsent('topics/t/0000000000/00000000000000000005.seg', Buffer.from('c'));
    expect(await treeOf(rootDir)).toEqual([
      'topics',
      'topics/t',
      'topics/t/0000000000',
      'topics/t/0000000000/00000000000000000000.seg',
      'topics/t/0000000000/00000000000000000005.seg',
    ]);
  });

  it('ignores temp files left by a crash and foreign names when listing', async () => {
    await store.put('p/a', Buffer.from('a'));
    await writeFile(path.join(rootDir, 'p', '.tmp-1-1-deadbeef'), 'half-written');
    await writeFile(path.join(rootDir, 'p', 'not a key'), 'foreign');
    expect((await listAll(store, '', 100)).map((meta) => meta.key)).toEqual(['p/a']);
  });

  it('prunes directories emptied by deletes, keeping the root', async () => {
    await store.put('x/y/z/1', Buffer.from('1'));
    await store.put('x/keep', Buffer.from('k'));
    await store.deleteMany(['x/y/z/1']);
    expect(await treeOf(rootDir)).toEqual(['x', 'x/keep']);
    await store.delete('x/keep');
    expect(await treeOf(rootDir)).toEqual([]);
  });

  it('refuses a key that is also a "directory" of other keys, as documented', async () => {
    await store.put('a/b', Buffer.from('x'));
    const conflict = await store.put('a', Buffer.from('y')).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(ObjectStoreError);
    expect((conflict as ObjectStoreError).code).toBe('Conflict');
    await expect(store.putIfAbsent('a', Buffer.from('y'))).rejects.toThrow(/Conflict/);
    await store.put('f', Buffer.from('file'));
    await expect(store.put('f/g', Buffer.from('y'))).rejects.toThrow(/Conflict/);
    expect(store.stats().errors).toBe(3);
  });

  it('survives puts racing deletes that prune the same directory', async () => {
    for (let round = 0; round < 20; round++) {
      await store.put('race/dir/a', Buffer.from('a'));
      await Promise.all([store.delete('race/dir/a'), store.put('race/dir/b', Buffer.from('b'))]);
      expect((await store.get('race/dir/b'))?.toString()).toBe('b');
      await store.delete('race/dir/b');
    }
  });

  it('reads an old version through an open read while a put replaces it', async () => {
    await store.put('v', Buffer.alloc(1024 * 1024, 1));
    const [read] = await Promise.all([
      store.get('v'),
      store.put('v', Buffer.alloc(1024 * 1024, 2)),
    ]);
    const first = read?.[0];
    expect(read?.every((byte) => byte === first)).toBe(true); // one version, never a mix
  });

  it('rejects a relative root', async () => {
    await expect(LocalFolderStore.open({ rootDir: 'relative/dir' })).rejects.toThrow(/absolute/);
  });
});
