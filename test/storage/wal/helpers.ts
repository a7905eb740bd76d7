/** WAL test fixtures: temp folders, small limits, deterministic payloads, fault-injecting io. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WalLimits } from '../../../storage/limits.js';
import { bufferHeaderCodec } from '../../../storage/wal/header-codec.js';
import { nodeFsyncWalIo, type WalIo } from '../../../storage/wal/io.js';
import type { WalEntry } from '../../../storage/wal/reader.js';
import { Wal, type WalOptions } from '../../../storage/wal/wal.js';

/** Small enough that tests roll segments and refill read buffers often. */
export const smallLimits: WalLimits = {
  segmentBytesMax: 16 * 1024,
  entryBytesMax: 4 * 1024,
  headerBytesMax: 64,
  pendingBytesMax: 8 * 1024,
  groupEntriesMax: 64,
  groupBytesMax: 8 * 1024,
  readChunkBytes: 100,
};

/** For the crash test's child: segments roll every few dozen entries, so kills hit rolls too. */
export const crashLimits: WalLimits = {
  segmentBytesMax: 64 * 1024,
  entryBytesMax: 8 * 1024,
  headerBytesMax: 64,
  pendingBytesMax: 32 * 1024,
  groupEntriesMax: 64,
  groupBytesMax: 16 * 1024,
  readChunkBytes: 4096,
};
export const crashPayloadBytesMax = 3000;

export async function makeTempDir(
  label: string,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `ledgerstream-wal-${label}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function openTestWal(
  dir: string,
  extra: Partial<WalOptions<Buffer>> = {},
): Promise<Wal<Buffer>> {
  const limits = { ...smallLimits, ...extra.limits };
  return Wal.open({ dir, headerCodec: bufferHeaderCodec, ...extra, limits });
}

/** Header: the entry's number as 8 bytes. */
export function headerFor(n: number): Buffer {
  const header = Buffer.alloc(8);
  header.writeBigUInt64BE(BigInt(n));
  return header;
}

export function numberOf(header: Buffer): number {
  return Number(header.readBigUInt64BE(0));
}

/** Deterministic payload for entry `n`, of `sizeBytes` bytes, so content can be checked later. */
export function payloadFor(n: number, sizeBytes: number): Buffer {
  const payload = Buffer.alloc(sizeBytes);
  let x = (n * 2654435761) >>> 0;
  for (let i = 0; i < sizeBytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    payload[i] = x >>> 24;
  }
  return payload;
}

export function payloadSizeFor(n: number, sizeBytesMax: number): number {
  return (n * 7919) % (sizeBytesMax + 1);
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export async function readAll(wal: Wal<Buffer>): Promise<WalEntry<Buffer>[]> {
  return collect(wal.readFrom(wal.lsnOldest));
}

/** Appends entries from..from+count-1 one after another; returns their LSNs. */
export async function appendNumbered(
  wal: Wal<Buffer>,
  from: number,
  count: number,
  sizeBytes = 100,
): Promise<number[]> {
  const lsns: number[] = [];
  for (let n = from; n < from + count; n++) {
    lsns.push(await wal.append(headerFor(n), payloadFor(n, sizeBytes)));
  }
  return lsns;
}

/** Holds callers until opened: keeps an fsync "in flight" for as long as a test wants. */
export class Gate {
  private waiters: Array<() => void> = [];
  private isOpen = false;
  entered = 0;

  wait(): Promise<void> {
    this.entered += 1;
    if (this.isOpen) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  open(): void {
    this.isOpen = true;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  close(): void {
    this.isOpen = false;
  }
}

/** The real io with `overrides`, writing then fdatasyncing (no O_DSYNC), so an injected
 *  fdatasync fault is the one that makes a group durable. */
export function faultIo(overrides: Partial<WalIo>): WalIo {
  return { ...nodeFsyncWalIo, ...overrides };
}

/** Waits until `predicate` holds, polling the event loop. */
export async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('until: timed out');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
