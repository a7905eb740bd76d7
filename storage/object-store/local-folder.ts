/**
 * The embedded default engine: one file per object under a root folder, key segments as path
 * segments, so `topics/t/0000000000/00000000000000000000.seg` is a readable path on disk.
 *
 * Durability: a put writes a temp file beside the target, fsyncs it, renames (put) or hard-links
 * (putIfAbsent) it into place, then fsyncs the directory. A crash leaves the old object or the
 * new one, plus at worst a stray dot-named temp file, which listing skips (keys cannot start with
 * `.`, see keys.ts).
 *
 * Known difference from S3: a key cannot be both an object and a "directory" of other keys
 * (`a` and `a/b`); such a put throws Conflict. Ledgerstream's key layout never does this.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  assertBodySize,
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  isValidKeySegment,
  resolvePageSize,
} from './keys.js';
import {
  errnoOf,
  fsyncDir,
  makeDirDurable,
  pruneEmptyDirs,
  publishTemp,
  readExactly,
  unlinkIfPresent,
  writeNewFileSynced,
} from './local-fs.js';
import {
  ObjectStoreError,
  type ListOptions,
  type ObjectHead,
  type ObjectMeta,
  type ObjectBody,
  type ObjectStore,
  type ObjectStoreOp,
  type ObjectStoreStats,
} from './object-store.js';
import { StatsRecorder } from './stats.js';
import { localFolderLimits, objectStoreLimits } from '../limits.js';

export interface LocalFolderConfig {
  /** Absolute path; created if missing. */
  rootDir: string;
}

export class LocalFolderStore implements ObjectStore {
  readonly engine = 'local-folder';
  private readonly recorder = new StatsRecorder();
  private tempSeq = 0;
  private closed = false;

  private constructor(readonly rootDir: string) {}

  static async open(config: LocalFolderConfig): Promise<LocalFolderStore> {
    assert.ok(path.isAbsolute(config.rootDir), `rootDir must be absolute: ${config.rootDir}`);
    const rootDir = path.resolve(config.rootDir);
    await makeDirDurable(rootDir);
    return new LocalFolderStore(rootDir);
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    this.begin('put', key);
    this.recorder.bytesIn(assertBodySize('put', key, body));
    const created = await this.recorder.guard('put', key, mapFsError, () =>
      this.writeAtomic(key, body, 'replace'),
    );
    assert.ok(created, 'a replacing put always lands');
  }

  async putIfAbsent(key: string, body: ObjectBody): Promise<boolean> {
    this.begin('putIfAbsent', key);
    this.recorder.bytesIn(assertBodySize('putIfAbsent', key, body));
    return this.recorder.guard('putIfAbsent', key, mapFsError, () =>
      this.writeAtomic(key, body, 'create'),
    );
  }

  async get(key: string): Promise<Buffer | null> {
    this.begin('get', key);
    return this.recorder.guard('get', key, mapFsError, async () => {
      const body = await this.readObject(key, null);
      if (body !== null) this.recorder.bytesOut(body.length);
      return body;
    });
  }

  async getRange(key: string, start: number, endExclusive: number): Promise<Buffer> {
    assertValidRange(start, endExclusive);
    this.begin('getRange', key);
    return this.recorder.guard('getRange', key, mapFsError, async () => {
      const body = await this.readObject(key, { start, endExclusive });
      if (body === null) throw new ObjectStoreError('NotFound', 'getRange', key, 'no such key');
      assert.equal(body.length, endExclusive - start);
      this.recorder.bytesOut(body.length);
      return body;
    });
  }

  async head(key: string): Promise<ObjectHead | null> {
    this.begin('head', key);
    return this.recorder.guard('head', key, mapFsError, async () => {
      const meta = await statObject(this.pathOf(key));
      return meta === null
        ? null
        : { sizeBytes: meta.sizeBytes, lastModifiedMs: meta.lastModifiedMs };
    });
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta> {
    this.assertOpen();
    assertValidPrefix(prefix);
    const pageSize = resolvePageSize(options?.pageSize);
    let cursor = options?.startAfter ?? '';
    // Terminates: each page either ends the listing or strictly advances the cursor.
    for (;;) {
      this.recorder.request('list');
      // One extra key tells whether another page exists, as S3's IsTruncated does.
      const found = await this.recorder.guard('list', prefix, mapFsError, () =>
        this.walk(this.rootDir, '', { prefix, cursor, limit: pageSize + 1 }, []),
      );
      for (const meta of found.slice(0, pageSize)) {
        assert.ok(meta.key > cursor, 'listing must advance');
        cursor = meta.key;
        yield meta;
      }
      if (found.length <= pageSize) return;
    }
  }

  async delete(key: string): Promise<void> {
    this.begin('delete', key);
    await this.recorder.guard('delete', key, mapFsError, () => this.removeKeys([key]));
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    this.assertOpen();
    assert.ok(
      keys.length <= objectStoreLimits.deleteManyKeysMax,
      `${keys.length} keys is too many`,
    );
    for (const key of keys) assertValidKey('deleteMany', key);
    this.recorder.request('deleteMany', keys.length);
    if (keys.length === 0) return;
    await this.recorder.guard('deleteMany', keys[0] ?? '', mapFsError, () => this.removeKeys(keys));
  }

  stats(): ObjectStoreStats {
    return this.recorder.snapshot();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private begin(op: ObjectStoreOp, key: string): void {
    this.assertOpen();
    assertValidKey(op, key);
    this.recorder.request(op);
  }

  private assertOpen(): void {
    assert.ok(!this.closed, 'object store used after close()');
  }

  private pathOf(key: string): string {
    const filePath = path.join(this.rootDir, ...key.split('/'));
    // Key validation (no `..`, no absolute paths) is what keeps this inside the root; check it.
    assert.ok(filePath.startsWith(this.rootDir + path.sep), `key escaped root: ${key}`);
    return filePath;
  }

  private tempName(): string {
    this.tempSeq += 1;
    // Dot-prefixed: no key segment may start with `.`, so a temp name never shadows a key.
    return `.tmp-${process.pid}-${this.tempSeq}-${randomBytes(4).toString('hex')}`;
  }

  private async writeAtomic(
    key: string,
    body: ObjectBody,
    mode: 'replace' | 'create',
  ): Promise<boolean> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    for (let attempt = 1; ; attempt++) {
      await makeDirDurable(dir);
      const tempPath = path.join(dir, this.tempName());
      try {
        await writeNewFileSynced(tempPath, body);
      } catch (error) {
        // ENOENT: a concurrent delete pruned `dir` between our mkdir and open; make it again.
        if (errnoOf(error) === 'ENOENT' && attempt < localFolderLimits.putAttemptsMax) continue;
        throw error;
      }
      let landed = false;
      try {
        landed = await publishTemp(tempPath, target, mode);
      } finally {
        // After a successful rename the temp name is gone; otherwise (link, or failure) remove it.
        if (!(landed && mode === 'replace')) await unlinkIfPresent(tempPath);
      }
      await fsyncDir(dir);
      return landed;
    }
  }

  /** Reads the whole object (range null) or exactly one range; null if the key does not exist. */
  private async readObject(
    key: string,
    range: { start: number; endExclusive: number } | null,
  ): Promise<Buffer | null> {
    const op = range === null ? 'get' : 'getRange';
    let handle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (error) {
      if (isAbsentError(error)) return null;
      throw error;
    }
    try {
      // The open handle pins this version of the object even if a put renames over it now.
      const info = await handle.stat();
      if (!info.isFile()) return null;
      const start = range?.start ?? 0;
      const endExclusive = range?.endExclusive ?? info.size;
      if (endExclusive > info.size) {
        const detail = `range [${start}, ${endExclusive}) past end of ${info.size}-byte object`;
        throw new ObjectStoreError('RangeNotSatisfiable', op, key, detail);
      }
      if (info.size > objectStoreLimits.objectBytesMax && range === null) {
        throw new ObjectStoreError('TooLarge', op, key, `${info.size}-byte object`);
      }
      const body = Buffer.allocUnsafe(endExclusive - start);
      await readExactly(handle, body, start);
      return body;
    } finally {
      await handle.close();
    }
  }

  /**
   * Collects up to `page.limit` objects under `dirPath` whose keys start with `page.prefix` and
   * sort after `page.cursor`, in key order, skipping whole subtrees that cannot qualify.
   */
  private async walk(
    dirPath: string,
    dirKey: string,
    page: { prefix: string; cursor: string; limit: number },
    out: ObjectMeta[],
  ): Promise<ObjectMeta[]> {
    for (const entry of await readSortedEntries(dirPath, dirKey)) {
      if (out.length >= page.limit) break;
      const fragment = entry.fragment;
      if (entry.isDirectory) {
        const mayMatchPrefix = fragment.startsWith(page.prefix) || page.prefix.startsWith(fragment);
        // Every key below sorts after `fragment`; if fragment < cursor and is not a prefix of it,
        // every key below also sorts before the cursor.
        const allBeforeCursor = fragment < page.cursor && !page.cursor.startsWith(fragment);
        if (mayMatchPrefix && !allBeforeCursor) {
          await this.walk(path.join(dirPath, entry.name), fragment, page, out);
        }
        continue;
      }
      if (!fragment.startsWith(page.prefix) || fragment <= page.cursor) continue;
      const meta = await statObject(path.join(dirPath, entry.name));
      if (meta !== null) out.push({ key: fragment, ...meta });
    }
    return out;
  }

  private async removeKeys(keys: readonly string[]): Promise<void> {
    const touchedDirs = new Set<string>();
    for (const key of keys) {
      const filePath = this.pathOf(key);
      if (await unlinkIfPresent(filePath)) touchedDirs.add(path.dirname(filePath));
    }
    // One fsync per directory rather than per key: deleteMany of a partition is one directory.
    for (const dir of touchedDirs) {
      try {
        await fsyncDir(dir);
      } catch (error) {
        if (!isAbsentError(error)) throw error; // pruned by a concurrent delete: nothing to sync
      }
      await pruneEmptyDirs(dir, this.rootDir);
    }
  }
}

interface SortedEntry {
  name: string;
  /** The key text this entry stands for: `dirKey + name`, plus `/` for a directory. */
  fragment: string;
  isDirectory: boolean;
}

/**
 * Directory entries that can be part of a key, sorted by their key fragment. Sorting by fragment,
 * not by name, is what makes the walk produce S3's order: `a-c` sorts before `a/b` because `-` <
 * `/`, yet the name `a` sorts before `a-c`.
 */
async function readSortedEntries(dirPath: string, dirKey: string): Promise<SortedEntry[]> {
  let dirents: Dirent[];
  try {
    dirents = await readdir(dirPath, { withFileTypes: true });
  } catch (error) {
    if (isAbsentError(error)) return []; // removed by a concurrent delete
    throw error;
  }
  const entries: SortedEntry[] = [];
  for (const dirent of dirents) {
    // Skips temp files (dot-names) and anything else that no valid key could have produced.
    if (!isValidKeySegment(dirent.name)) continue;
    if (!dirent.isFile() && !dirent.isDirectory()) continue;
    const isDirectory = dirent.isDirectory();
    entries.push({
      name: dirent.name,
      fragment: dirKey + dirent.name + (isDirectory ? '/' : ''),
      isDirectory,
    });
  }
  return entries.sort((a, b) => (a.fragment < b.fragment ? -1 : a.fragment > b.fragment ? 1 : 0));
}

async function statObject(filePath: string): Promise<ObjectHead | null> {
  try {
    const info = await stat(filePath);
    if (!info.isFile()) return null;
    return { sizeBytes: info.size, lastModifiedMs: Math.floor(info.mtimeMs) };
  } catch (error) {
    if (isAbsentError(error)) return null;
    throw error;
  }
}

/** ENOENT, or ENOTDIR when a path component is a file: either way there is no object there. */
function isAbsentError(error: unknown): boolean {
  const code = errnoOf(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function mapFsError(op: ObjectStoreOp, key: string, error: unknown): ObjectStoreError {
  const code = errnoOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  // A file where a directory is needed or the reverse: the `a` vs `a/b` case in the header.
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
    return new ObjectStoreError('Conflict', op, key, detail, { cause: error });
  }
  return new ObjectStoreError('Io', op, key, detail, { cause: error });
}
