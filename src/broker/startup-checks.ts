/**
 * Start-up checks: a broker whose data folder or object store does not work refuses to start
 * with one line saying what is wrong and which setting fixes it. Without them a dead or mistyped
 * S3 endpoint was silent: the broker started, acknowledged from the WAL, retried uploads for ever
 * with a stack per retry, and exited 0 on SIGTERM with the unuploaded WAL still on disk.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { BrokerConfig } from '../config/config.js';
import { ObjectStoreError, type ObjectStore } from '../../storage/object-store/object-store.js';

/** What the broker cannot start without; the message is the whole explanation. */
export class StartupCheckError extends Error {
  override readonly name = 'StartupCheckError';
}

/** Objects written by the check live here, apart from segments (the orphan collector ignores them). */
export const STARTUP_CHECK_PREFIX = 'startup-check/';

/**
 * The data folder can be created, and a file in it created, fsynced and removed. The file stays
 * empty and a full disk passes: a broker on a full WAL disk still starts and serves reads, and the
 * WAL says itself when it cannot write.
 */
export async function checkDataDir(dir: string): Promise<void> {
  const probe = join(dir, `.startup-check-${process.pid}`);
  try {
    await makeDirs(dir);
    const file = await open(probe, 'w');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    await rm(probe, { force: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC') return;
    throw new StartupCheckError(`data folder ${dir} is not usable: ${e.message} (set --data-dir to a writable folder on a local disk)`);
  }
}

/**
 * mkdir -p, one component at a time. Not `mkdir(dir, { recursive: true })`: under /proc, mkdir
 * answers ENOENT although the parent exists, and Node's recursive mkdir then retries for ever at
 * 100% CPU (seen with --data-dir /proc/x).
 */
async function makeDirs(dir: string): Promise<void> {
  const parts = resolve(dir).split(sep).filter((p) => p !== '');
  let path: string = sep;
  for (const part of parts) {
    path = join(path, part);
    try {
      await mkdir(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!(await stat(path)).isDirectory()) throw Object.assign(new Error(`${path} is not a folder`), { code: 'ENOTDIR' });
    }
  }
}

/** Where the object store is, in the user's terms. */
export function describeStore(config: BrokerConfig): string {
  if (config.objectStore === 'local') return `local object folder ${config.objectStoreDir}`;
  const endpoint = config.s3Endpoint === '' ? `AWS S3 (${config.s3Region})` : config.s3Endpoint;
  return `S3 bucket "${config.s3Bucket}" at ${endpoint}`;
}

/** The setting most likely to fix a failed check, from what the store answered. */
function hintFor(config: BrokerConfig, err: unknown): string {
  if (config.objectStore === 'local') return 'set --object-store-dir to a writable folder';
  const text = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err);
  if (/NoSuchBucket/.test(text)) return 'create the bucket, or start with --s3-create-bucket true';
  if (/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden|HTTP 403/.test(text)) {
    return 'check --s3-access-key-id and --s3-secret-access-key, and the bucket policy';
  }
  return 'check --s3-endpoint and that the server is up';
}

/**
 * Writes, reads back and deletes a small object. Bounded by `timeoutMs` in all (the SDK's own
 * retries included): an endpoint that swallows packets fails the check instead of hanging start-up.
 */
export async function checkObjectStore(store: ObjectStore, config: BrokerConfig, timeoutMs: number): Promise<void> {
  const key = `${STARTUP_CHECK_PREFIX}${config.nodeId}-${randomBytes(6).toString('hex')}`;
  const body = randomBytes(64);
  const roundTrip = async () => {
    await store.put(key, body);
    const back = await store.get(key);
    if (back === null || !back.equals(body)) throw new Error('an object written was not read back the same');
    await store.delete(key);
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([roundTrip(), deadline]);
  } catch (err) {
    const reason = err instanceof ObjectStoreError || err instanceof Error ? err.message : String(err);
    throw new StartupCheckError(`object store (${describeStore(config)}) is not usable: ${reason.split('\n')[0]}; `
      + `${hintFor(config, err)} (--start-degraded true starts anyway)`);
  } finally {
    clearTimeout(timer);
  }
}
