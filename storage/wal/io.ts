/**
 * The few file operations the WAL performs, behind one interface so tests can inject faults
 * (a failing fsync, a short write, a slow disk) the way TigerBeetle's testing storage does.
 * `nodeWalIo` is the real thing.
 */
import assert from 'node:assert/strict';
import { open, unlink, type FileHandle } from 'node:fs/promises';

export interface WalIo {
  open(path: string, flags: 'r' | 'r+' | 'wx'): Promise<FileHandle>;
  /** May write fewer bytes than asked (like writev(2)); returns the bytes written. */
  writev(file: FileHandle, buffers: Buffer[], positionBytes: number): Promise<number>;
  datasync(file: FileHandle): Promise<void>;
  truncate(file: FileHandle, lengthBytes: number): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync a directory, making creates and unlinks in it durable. */
  syncDir(dir: string): Promise<void>;
}

export const nodeWalIo: WalIo = {
  open: (path, flags) => open(path, flags),
  async writev(file, buffers, positionBytes) {
    const { bytesWritten } = await file.writev(buffers, positionBytes);
    return bytesWritten;
  },
  datasync: (file) => file.datasync(),
  truncate: (file, lengthBytes) => file.truncate(lengthBytes),
  unlink: (path) => unlink(path),
  async syncDir(dir) {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** Writes every byte of `buffers` at `positionBytes`, resuming after short writes. */
export async function writeAll(
  io: WalIo,
  file: FileHandle,
  buffers: Buffer[],
  positionBytes: number,
): Promise<void> {
  let remaining = buffers;
  let position = positionBytes;
  while (remaining.length > 0) {
    const bytesWritten = await io.writev(file, remaining, position);
    const bytesAsked = remaining.reduce((sum, b) => sum + b.length, 0);
    assert.ok(bytesWritten > 0 && bytesWritten <= bytesAsked, `writev wrote ${bytesWritten}`);
    position += bytesWritten;
    remaining = dropBytes(remaining, bytesWritten);
  }
  assert.ok(position >= positionBytes, 'position only moves forward');
}

function dropBytes(buffers: Buffer[], bytes: number): Buffer[] {
  let skip = bytes;
  let index = 0;
  while (index < buffers.length && skip >= buffers[index]!.length) {
    skip -= buffers[index]!.length;
    index += 1;
  }
  const rest = buffers.slice(index);
  if (skip > 0) rest[0] = rest[0]!.subarray(skip);
  return rest;
}
