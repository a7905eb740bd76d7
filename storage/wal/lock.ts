/**
 * One writer per WAL folder. Node has no flock(), so the lock is a file, `wal.lock`, created
 * atomically and exclusively (written to a temp file, then link()ed into place, which fails if the
 * lock exists), holding the owner's pid, host, boot id and a random nonce.
 *
 * A lock left by a dead owner (SIGKILL, crash, power loss) is taken over when we can *prove* the
 * owner dead: same host and (different boot, or no such pid, or the pid is our own but the nonce is
 * not one we hold: a container restarted as pid 1 again). An owner on another host cannot be
 * checked from here: opening fails with WalLockedError, and the caller, who may know better (the
 * broker registry lease), can open read-only with `remoteOwnerIsDead`.
 *
 * Limits: two processes taking over the same stale lock at the same instant can race (narrowed by
 * re-reading the nonce just before unlinking); real fencing of a zombie broker belongs to the
 * metadata store's broker epoch, not to this file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isNoSpace, WalLockedError } from './errors.js';
import type { WalIo } from './io.js';

export const lockFileName = 'wal.lock';

export interface WalLockOwner {
  pid: number;
  hostname: string;
  /** Linux boot id; a lock from an earlier boot is stale whatever its pid. '' where unknown. */
  bootId: string;
  nonce: string;
  acquiredAtMs: number;
}

export type OwnerLiveness = 'alive' | 'dead' | 'unknown';

/** Nonces of locks this process holds, to tell our own lock from a previous pid-1 incarnation. */
const heldNonces = new Set<string>();

export class WalLock {
  private released = false;

  private constructor(
    readonly dir: string,
    readonly owner: WalLockOwner,
    private readonly io: WalIo,
  ) {}

  static async acquire(dir: string, io: WalIo, nowMs: number): Promise<WalLock> {
    const owner = currentOwner(nowMs);
    // Two rounds: the second runs after removing a stale lock; failing again means a live racer.
    for (let round = 0; round < 2; round++) {
      let created: boolean;
      try {
        created = await tryCreateLock(dir, owner, io);
      } catch (err) {
        // A broker killed while its disk was full left a stale lock holding the room a new one
        // needs: remove it and try once more (a live owner still makes removeIfStale throw).
        if (round > 0 || !isNoSpace(err) || (await readLockOwner(dir)) === null) throw err;
        created = false;
      }
      if (created) {
        heldNonces.add(owner.nonce);
        return new WalLock(dir, owner, io);
      }
      await removeIfStale(dir);
    }
    throw new WalLockedError(dir, 'another process took the lock while we removed a stale one');
  }

  async release(): Promise<void> {
    assert.ok(!this.released, 'release once');
    this.released = true;
    heldNonces.delete(this.owner.nonce);
    const current = await readLockOwner(this.dir);
    // Someone broke our lock (an operator, a takeover): do not delete theirs.
    if (current?.nonce !== this.owner.nonce) return;
    await this.io.unlink(join(this.dir, lockFileName));
    await this.io.syncDir(this.dir);
  }
}

/** Returns null if there is no lock file. A malformed lock file is reported, not guessed at. */
export async function readLockOwner(dir: string): Promise<WalLockOwner | null> {
  const path = join(dir, lockFileName);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const owner = parseOwner(text);
  if (owner === null) {
    throw new WalLockedError(dir, `malformed lock file ${path}; inspect and remove it by hand`);
  }
  return owner;
}

function parseOwner(text: string): WalLockOwner | null {
  let value: Partial<WalLockOwner>;
  try {
    value = JSON.parse(text) as Partial<WalLockOwner>;
  } catch {
    return null;
  }
  const wellFormed = Number.isSafeInteger(value.pid) && typeof value.hostname === 'string';
  const idsOk = typeof value.nonce === 'string' && typeof value.bootId === 'string';
  if (!wellFormed || !idsOk) return null;
  return value as WalLockOwner;
}

export function ownerLiveness(owner: WalLockOwner): OwnerLiveness {
  const self = currentOwner(0);
  if (owner.hostname !== self.hostname) return 'unknown';
  if (owner.bootId !== '' && self.bootId !== '' && owner.bootId !== self.bootId) return 'dead';
  if (owner.pid === process.pid) return heldNonces.has(owner.nonce) ? 'alive' : 'dead';
  try {
    process.kill(owner.pid, 0);
    return 'alive';
  } catch (err) {
    // EPERM: the pid exists but belongs to another user; it is alive.
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'dead' : 'alive';
  }
}

/** Throws unless the WAL in `dir` has no owner or its owner is dead (for read-only opens). */
export async function assertOwnerDead(dir: string, remoteOwnerIsDead: boolean): Promise<void> {
  const owner = await readLockOwner(dir);
  if (owner === null) return;
  const liveness = ownerLiveness(owner);
  if (liveness === 'dead' || (liveness === 'unknown' && remoteOwnerIsDead)) return;
  throw new WalLockedError(dir, describeOwner(owner, liveness));
}

async function tryCreateLock(dir: string, owner: WalLockOwner, io: WalIo): Promise<boolean> {
  const path = join(dir, lockFileName);
  const tempPath = `${path}.${owner.nonce}.tmp`;
  // Write fully, then link: the lock appears complete or not at all (never a torn lock file).
  try {
    await writeFile(tempPath, JSON.stringify(owner) + '\n', { flag: 'wx', flush: true });
  } catch (err) {
    await unlink(tempPath).catch(() => undefined); // e.g. created, then ENOSPC on the write
    throw err;
  }
  try {
    await link(tempPath, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(tempPath);
  }
  await io.syncDir(dir);
  return true;
}

async function removeIfStale(dir: string): Promise<void> {
  const owner = await readLockOwner(dir);
  if (owner === null) return; // released meanwhile: just retry
  const liveness = ownerLiveness(owner);
  if (liveness !== 'dead') throw new WalLockedError(dir, describeOwner(owner, liveness));
  const again = await readLockOwner(dir);
  if (again?.nonce !== owner.nonce) return; // replaced meanwhile: let the next round decide
  await unlink(join(dir, lockFileName));
}

function describeOwner(owner: WalLockOwner, liveness: OwnerLiveness): string {
  const who = `pid ${owner.pid} on host ${owner.hostname}`;
  const since = new Date(owner.acquiredAtMs).toISOString();
  if (liveness === 'alive') return `held by live ${who} since ${since}`;
  return `held by ${who} since ${since}, which cannot be checked from this host`;
}

function currentOwner(nowMs: number): WalLockOwner {
  assert.ok(Number.isFinite(nowMs) && nowMs >= 0, 'nowMs is a time');
  return {
    pid: process.pid,
    hostname: hostname(),
    bootId: readBootId(),
    nonce: randomBytes(8).toString('hex'),
    acquiredAtMs: nowMs,
  };
}

let bootIdCached: string | undefined;

function readBootId(): string {
  if (bootIdCached === undefined) {
    try {
      bootIdCached = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCached = ''; // not Linux: fall back to pid checks alone
    }
  }
  return bootIdCached;
}
