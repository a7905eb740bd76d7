/**
 * Durable file primitives for the local folder engine.
 * Each helper names the crash window it closes.
 */
import assert from 'node:assert/strict';
import { link, lstat, mkdir, open, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { localFolderLimits } from '../limits.js';
import type { ObjectBody } from './object-store.js';

/** The errno code of a Node fs error, or undefined for anything else. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * fsync a directory so that entries created, renamed or removed in it survive a power loss;
 * fsync of the file alone makes its bytes durable but not its name.
 */
export async function fsyncDir(dirPath: string): Promise<void> {
  const handle = await open(dirPath, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * mkdir -p, then fsync the parent of every directory it created, so a new key's directories are as
 * durable as the key itself. Returns once `dirPath` exists.
 */
export async function makeDirDurable(dirPath: string): Promise<void> {
  const firstCreated = await mkdir(dirPath, { recursive: true });
  if (firstCreated === undefined) return;
  assert.ok(dirPath === firstCreated || dirPath.startsWith(firstCreated + path.sep));
  // Made: firstCreated … dirPath, whose names live in dirname(firstCreated) … dirname(dirPath).
  for (let dir = dirPath; ; dir = path.dirname(dir)) {
    await fsyncDir(path.dirname(dir));
    if (dir === firstCreated) return;
  }
}

/** Writes a new file (failing if the name exists) and fsyncs its bytes before returning. */
export async function writeNewFileSynced(filePath: string, body: ObjectBody): Promise<void> {
  const handle = await open(filePath, 'wx', 0o644);
  try {
    if (Buffer.isBuffer(body)) await handle.writeFile(body);
    else await writeAllParts(handle, body as readonly Buffer[]);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlinkIfPresent(filePath);
    throw error;
  }
  await handle.close();
}

/**
 * Writes `parts` in order from the file's start with writev, at most `writevBuffersMax` buffers
 * per call (IOV_MAX: the kernel refuses more), resuming where a short write stopped. The parts
 * are never copied into one buffer first.
 */
async function writeAllParts(handle: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let position = 0;
  const buffersMax = localFolderLimits.writevBuffersMax;
  for (let first = 0; first < parts.length; first += buffersMax) {
    const chunk = parts.slice(first, first + buffersMax);
    let bytes = 0;
    for (const part of chunk) bytes += part.length;
    let written = 0;
    while (written < bytes) {
      const rest = written === 0 ? chunk : remainingParts(chunk, written);
      const { bytesWritten } = await handle.writev(rest, position + written);
      assert.ok(bytesWritten > 0, 'writev made progress');
      written += bytesWritten;
    }
    position += bytes;
  }
}

/** The parts of `chunk` after its first `skip` bytes (a short write's remainder). */
function remainingParts(chunk: readonly Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let left = skip;
  for (const part of chunk) {
    if (left >= part.length) { left -= part.length; continue; }
    out.push(left === 0 ? part : part.subarray(left));
    left = 0;
  }
  return out;
}

/**
 * Publishes a synced temp file under `target`. 'replace' renames over whatever is there (atomic
 * replace); 'create' hard-links, which fails with EEXIST if the name is taken, so exactly one of
 * any number of racing creators wins. Returns whether `target` now holds this temp file's bytes.
 * The caller removes the temp name if it is left behind and fsyncs the directory.
 */
export async function publishTemp(
  tempPath: string,
  target: string,
  mode: 'replace' | 'create',
): Promise<boolean> {
  assert.equal(path.dirname(tempPath), path.dirname(target), 'rename/link must stay in one dir');
  if (mode === 'replace') {
    await rename(tempPath, target);
    return true;
  }
  try {
    await link(tempPath, target);
    return true;
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') throw error;
    // A directory at `target` means keys exist *under* this key, not that this key exists.
    const existing = await lstat(target);
    if (existing.isDirectory())
      throw Object.assign(new Error('a directory holds this name'), { code: 'EISDIR' });
    return false;
  }
}

/** unlink that treats "already gone" as success; returns whether a file was removed. */
export async function unlinkIfPresent(filePath: string): Promise<boolean> {
  try {
    await unlink(filePath);
    return true;
  } catch (error) {
    const code = errnoOf(error);
    // EISDIR/EPERM: a directory sits at this name, so no object does.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') {
      return false;
    }
    throw error;
  }
}

/**
 * Removes now-empty directories from `dirPath` up to (not including) `rootDir`, so deleted
 * partitions do not leave directory trees behind. rmdir fails on a non-empty directory, so this
 * never removes data; a put racing with it retries its mkdir (see LocalFolderStore.writeAtomic).
 */
export async function pruneEmptyDirs(dirPath: string, rootDir: string): Promise<void> {
  for (let dir = dirPath; dir !== rootDir; dir = path.dirname(dir)) {
    assert.ok(dir.startsWith(rootDir + path.sep), `prune escaped root: ${dir}`);
    try {
      await rmdir(dir);
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
      throw error;
    }
  }
}

/** Reads exactly `buffer.length` bytes at `position`; a short file is a bug here, not EOF. */
export async function readExactly(
  handle: FileHandle,
  buffer: Buffer,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await handle.read(buffer, done, buffer.length - done, position + done);
    // Files are replaced by rename, never rewritten in place, so an open file cannot shrink.
    assert.ok(bytesRead > 0, `file shrank while reading at ${position + done}`);
    done += bytesRead;
  }
}
