/**
 * The shared WAL's fence (storage/wal/fence.ts): what a reader writes before it replays a revoked
 * broker's WAL, and what the owner reads after each fsync before it acknowledges. Real files; the
 * one test of coalescing puts a read it controls in place of the file read, to order the reads.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  WalFenceCheck, WalFenceUnreadableError, fenceWal, readFenceTokens, resetWalFence,
  walFenceFileName, walFenceLimits,
} from '../../../storage/wal/fence.js';
import { makeTempDir } from './helpers.js';

let tmp: { dir: string; cleanup(): Promise<void> };
beforeEach(async () => { tmp = await makeTempDir('fence'); });
afterEach(async () => { await tmp.cleanup(); });

it('a token a reader fenced is fenced at the owner\'s next check; others are not', async () => {
  await resetWalFence(tmp.dir);
  const check = new WalFenceCheck(tmp.dir);
  expect(await check.isFenced('7587886')).toBe(false);
  expect(await fenceWal(tmp.dir, '7587886')).toBe(true);
  expect(await check.isFenced('7587886')).toBe(true);
  expect(await check.isFenced('7587887')).toBe(false); // the owner's next session
});

it('a reader writes a token once, whatever the number of replays', async () => {
  expect(await fenceWal(tmp.dir, '42')).toBe(true); // no file yet: the reader creates it
  expect(await fenceWal(tmp.dir, '42')).toBe(false);
  expect(await fenceWal(tmp.dir, '43')).toBe(true);
  expect(await readFile(join(tmp.dir, walFenceFileName), 'latin1')).toBe('42\n43\n');
});

it('the owner\'s reset at start clears its previous process\'s tokens; no file is no fence',
  async () => {
  const check = new WalFenceCheck(tmp.dir);
  expect(await check.isFenced('1')).toBe(false);
  await fenceWal(tmp.dir, '1');
  await resetWalFence(tmp.dir);
  expect(await readFile(join(tmp.dir, walFenceFileName), 'latin1')).toBe('');
  expect(await new WalFenceCheck(tmp.dir).isFenced('1')).toBe(false);
});

it('a line without its newline (an append in progress) is not in force yet', async () => {
  const path = join(tmp.dir, walFenceFileName);
  await writeFile(path, '11\n12');
  const buffer = Buffer.alloc(walFenceLimits.fileBytesMax + 1);
  expect(await readFenceTokens(path, buffer)).toEqual(['11']);
  await writeFile(path, '12');
  expect(await readFenceTokens(path, buffer)).toEqual([]);
});

it('a fence file past its limit is not read: the owner\'s check rejects (it must refuse)',
  async () => {
  const oversize = '9\n'.repeat(walFenceLimits.fileBytesMax / 2 + 1);
  await writeFile(join(tmp.dir, walFenceFileName), oversize);
  await expect(new WalFenceCheck(tmp.dir).isFenced('5'))
    .rejects.toBeInstanceOf(WalFenceUnreadableError);
});

it('refuses a token that could break a line', async () => {
  await expect(fenceWal(tmp.dir, '4\n5')).rejects.toThrow(/fence token/);
  await expect(fenceWal(tmp.dir, '')).rejects.toThrow(/fence token/);
});

it('a check is answered by a read begun after it: one in flight, one queued for all after',
  async () => {
  const reads: { resolve: (tokens: string[]) => void }[] = [];
  const check = new WalFenceCheck(tmp.dir,
    () => new Promise<string[]>((resolve) => reads.push({ resolve })));
  const first = check.isFenced('8');
  expect(reads.length).toBe(1);
  // Asked while the first read runs: that read may have begun before the write being acknowledged
  // was durable, so these wait for the next one, which both share.
  const second = check.isFenced('8');
  const third = check.isFenced('9');
  await Promise.resolve();
  expect(reads.length).toBe(1);
  reads[0]!.resolve([]);
  expect(await first).toBe(false);
  await new Promise((r) => setImmediate(r));
  expect(reads.length).toBe(2);
  reads[1]!.resolve(['8']);
  expect(await second).toBe(true);
  expect(await third).toBe(false);
  // A fence is never lifted: known fenced without another read.
  expect(await check.isFenced('8')).toBe(true);
  expect(reads.length).toBe(2);
});
