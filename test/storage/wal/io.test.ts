/**
 * How the real io makes a group durable: segments opened for writing carry O_DSYNC (checked in the
 * kernel's own view of the descriptor), so the WAL calls no fdatasync after a group; the fsync
 * variant the fault tests use calls one per group.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFsyncWalIo, nodeWalIo, type WalIo } from '../../../storage/wal/io.js';
import { headerFor, makeTempDir, openTestWal, payloadFor, readAll } from './helpers.js';

/** O_ACCMODE (Node's fs.constants has no name for it). */
const ACCESS_MODE = 3;

/** The open(2) flags of `file` as /proc reports them (octal). */
async function openFlags(file: FileHandle): Promise<number> {
  const info = await readFile(`/proc/self/fdinfo/${file.fd}`, 'utf8');
  const line = /^flags:\s+([0-7]+)$/m.exec(info);
  expect(line, 'fdinfo has a flags line').not.toBeNull();
  return parseInt(line![1]!, 8);
}

/** `io` with its fdatasync calls counted. */
function counted(io: WalIo): { io: WalIo; datasyncs: () => number } {
  let calls = 0;
  return {
    io: { ...io, datasync: async (file) => { calls++; await io.datasync(file); } },
    datasyncs: () => calls,
  };
}

describe('WAL io: O_DSYNC segments', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('io')));
  afterEach(() => cleanup());

  it('opens files for writing with O_DSYNC, not for reading; the fsync variant never', async () => {
    const path = join(dir, 'f');
    const created = await nodeWalIo.open(path, 'wx');
    const reopened = await nodeWalIo.open(path, 'r+');
    const read = await nodeWalIo.open(path, 'r');
    const plain = await nodeFsyncWalIo.open(path, 'r+');
    try {
      expect(await openFlags(created) & constants.O_DSYNC).toBe(constants.O_DSYNC);
      expect(await openFlags(reopened) & constants.O_DSYNC).toBe(constants.O_DSYNC);
      expect(await openFlags(read) & constants.O_DSYNC).toBe(0);
      expect(await openFlags(plain) & constants.O_DSYNC).toBe(0);
      expect(await openFlags(created) & ACCESS_MODE).toBe(constants.O_WRONLY);
      expect(await openFlags(reopened) & ACCESS_MODE).toBe(constants.O_RDWR);
      await expect(nodeWalIo.open(path, 'wx'), 'wx stays exclusive').rejects.toThrow(/EEXIST/);
    } finally {
      for (const f of [created, reopened, read, plain]) await f.close();
    }
    expect(nodeWalIo.writesDurable).toBe(true);
    expect(nodeFsyncWalIo.writesDurable).toBe(false);
  });

  it.each([
    { name: 'O_DSYNC', base: nodeWalIo, perGroup: 0 },
    { name: 'write + fdatasync', base: nodeFsyncWalIo, perGroup: 1 },
  ])('$name: groups are durable with $perGroup fdatasync each, and read back', async (c) => {
    const { io, datasyncs } = counted(c.base);
    const wal = await openTestWal(dir, { io });
    for (let n = 0; n < 20; n++) await wal.append(headerFor(n), payloadFor(n, 300));
    const groups = wal.metrics.snapshot().fsyncCount;
    expect(groups).toBe(20); // one at a time: each append is its own group
    expect(datasyncs()).toBe(c.perGroup * groups);
    await wal.close();
    const reopened = await openTestWal(dir);
    expect((await readAll(reopened)).length).toBe(20);
    await reopened.close();
  });
});
