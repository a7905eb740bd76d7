import { spawnSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WalLockedError } from '../../../storage/wal/errors.js';
import { bufferHeaderCodec } from '../../../storage/wal/header-codec.js';
import { lockFileName, type WalLockOwner } from '../../../storage/wal/lock.js';
import { WalReadOnly } from '../../../storage/wal/wal-read-only.js';
import { appendNumbered, makeTempDir, openTestWal, smallLimits } from './helpers.js';

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}

/** The pid of a process that has exited (and been reaped), so it is certainly dead. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  expect(child.pid).toBeGreaterThan(0);
  return child.pid!;
}

async function writeLock(dir: string, owner: Partial<WalLockOwner>): Promise<void> {
  const full: WalLockOwner = {
    pid: process.pid,
    hostname: hostname(),
    bootId: await bootId(),
    nonce: 'feedfacefeedface',
    acquiredAtMs: 0,
    ...owner,
  };
  await writeFile(join(dir, lockFileName), JSON.stringify(full));
}

function openReadOnly(dir: string, remoteOwnerIsDead = false) {
  const headerCodec = bufferHeaderCodec;
  return WalReadOnly.open({ dir, headerCodec, limits: smallLimits, remoteOwnerIsDead });
}

describe('WAL lock', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('lock')));
  afterEach(() => cleanup());

  it('a second writer is refused while the first is open, and admitted after close', async () => {
    const wal = await openTestWal(dir);
    await expect(openTestWal(dir)).rejects.toThrow(WalLockedError);
    await expect(openTestWal(dir)).rejects.toThrow(`held by live pid ${process.pid}`);
    await expect(openReadOnly(dir)).rejects.toThrow(WalLockedError);
    await wal.close();
    expect(await readdir(dir)).not.toContain(lockFileName);
    const again = await openTestWal(dir);
    await again.close();
  });

  it('takes over a lock whose owner pid is dead', async () => {
    await writeLock(dir, { pid: deadPid() });
    const wal = await openTestWal(dir);
    const owner = JSON.parse(await readFile(join(dir, lockFileName), 'utf8')) as WalLockOwner;
    expect(owner.pid).toBe(process.pid);
    await wal.close();
  });

  it('takes over a lock from an earlier boot, even if its pid is alive now', async () => {
    await writeLock(dir, { pid: 1, bootId: 'an-earlier-boot' });
    const wal = await openTestWal(dir);
    await wal.close();
  });

  it('takes over a lock with our pid but not our nonce (restarted as the same pid)', async () => {
    await writeLock(dir, { pid: process.pid, nonce: '0123456789abcdef' });
    const wal = await openTestWal(dir);
    await wal.close();
  });

  it('refuses a lock held on another host; read-only needs remoteOwnerIsDead', async () => {
    const writer = await openTestWal(dir);
    await appendNumbered(writer, 1, 3);
    await writer.close();
    await writeLock(dir, { hostname: 'some-other-broker' });
    await expect(openTestWal(dir)).rejects.toThrow(/cannot be checked from this host/);
    await expect(openReadOnly(dir)).rejects.toThrow(WalLockedError);
    const reader = await openReadOnly(dir, true);
    expect(reader.recovery.lsnLast).toBe(3);
  });

  it('reads a dead owner\'s WAL read-only without taking its lock', async () => {
    const writer = await openTestWal(dir);
    await appendNumbered(writer, 1, 5);
    await writer.close();
    await writeLock(dir, { pid: deadPid() });
    const reader = await openReadOnly(dir);
    let count = 0;
    for await (const entry of reader.readFrom(2)) count += entry.lsn > 0 ? 1 : 0;
    expect(count).toBe(4);
    const owner = JSON.parse(await readFile(join(dir, lockFileName), 'utf8')) as WalLockOwner;
    expect(owner.nonce).toBe('feedfacefeedface'); // untouched
  });

  it('reports a malformed lock file instead of guessing', async () => {
    await writeFile(join(dir, lockFileName), '{"pid": 12');
    await expect(openTestWal(dir)).rejects.toThrow(/malformed lock file/);
  });
});
