/**
 * Issue 8, item 5: a full WAL disk must not become a crash loop. A real broker whose WAL folder is
 * a small tmpfs mount is produced to (kafkajs, acks=all, no client retries) until the disk is full:
 *   1. produce gets KAFKA_STORAGE_ERROR (retriable), the broker stays up, reads go on, and once
 *      the uploader has trimmed the WAL, produce resumes on its own;
 *   2. space freed by an operator is noticed too;
 *   3. a broker SIGKILLed on the full disk starts again (its stale lock held the room the new
 *      lock needs), serves reads, and resumes writes once its uploads trim the WAL;
 *   4. a start on a disk too full for the WAL's lock fails at once with one line saying so.
 * Throughout, every acknowledged record reads back exactly once, at contiguous offsets: batches
 * refused for want of space took no offsets.
 *
 * Needs root (mount); skipped with a message where mounting is impossible.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { consumeAll, kafkaClient } from '../helpers/kafka-client.js';

const MiB = 1024 * 1024;
const VALUE_BYTES = 500_000;
const SENDS_MAX = 400;
const TOPIC = 'full-disk';

function tryMount(dir: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0]! : String(err);
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); // still busy: detach it anyway
  }
}

/** Writes zeros to `path` until `bytes` are written or the disk is full (ENOSPC). */
async function fill(path: string, bytes = Infinity): Promise<void> {
  const file = await open(path, 'a');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    let written = 0;
    while (written < bytes) {
      const piece = chunk.subarray(0, Math.min(chunk.length, bytes - written));
      try {
        written += (await file.write(piece)).bytesWritten;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
        throw err;
      }
    }
  } finally {
    await file.close();
  }
}

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** True if `err`, or an error it wraps, is Kafka's KAFKA_STORAGE_ERROR marked retriable. */
function isRetriableStorageError(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  const e = err as { type?: string; retriable?: boolean; cause?: unknown; errors?: unknown[] };
  if (e.type === 'KAFKA_STORAGE_ERROR') return e.retriable === true;
  return isRetriableStorageError(e.cause, depth + 1)
    || (e.errors ?? []).some((inner) => isRetriableStorageError(inner, depth + 1));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One producer (no client retries, so each refusal is seen) and the records it got acknowledged. */
class Writer {
  /** `acked`: records acknowledged before (by an earlier producer); `next`: the first new id. */
  constructor(private readonly producer: Producer, readonly acked: string[] = [], private next = 0) {}

  /** Sends one record; 'full' if the broker answered KAFKA_STORAGE_ERROR. Other errors throw. */
  async send(): Promise<'ok' | 'full'> {
    const value = `r${String(this.next++).padStart(6, '0')}-`.padEnd(VALUE_BYTES, 'x');
    try {
      await this.producer.send({ topic: TOPIC, acks: -1, messages: [{ value }] });
    } catch (err) {
      if (isRetriableStorageError(err)) return 'full';
      throw err;
    }
    this.acked.push(value);
    return 'ok';
  }

  /** Sends until the disk is full; returns how many were acknowledged on the way. */
  async untilFull(): Promise<number> {
    const before = this.acked.length;
    for (let i = 0; i < SENDS_MAX; i++) if ((await this.send()) === 'full') return this.acked.length - before;
    throw new Error(`no KAFKA_STORAGE_ERROR after ${SENDS_MAX} sends`);
  }

  /** Retries until a send is acknowledged again (bounded in count and time). */
  async untilAccepted(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.send()) === 'ok') return;
      await sleep(100);
    }
    throw new Error('produce did not resume');
  }
}

/** Every acknowledged record exactly once, in order, at offsets 0, 1, 2, … (no gap, no dup). */
async function expectExactlyAcked(kafka: Kafka, acked: string[]): Promise<void> {
  const got = await consumeAll(kafka, TOPIC, acked.length);
  expect(got.map((r) => r.offset)).toEqual(acked.map((_, i) => i));
  expect(got.map((r) => r.value.slice(0, 8))).toEqual(acked.map((v) => v.slice(0, 8)));
  expect(got.every((r, i) => r.value === acked[i])).toBe(true);
}

describe('a full WAL disk (tmpfs)', () => {
  it('answers KAFKA_STORAGE_ERROR, keeps reading, resumes, and starts or says why', async (ctx) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ledgerstream-walfull-'));
    const walDir = join(dataDir, 'wal');
    await mkdir(walDir);
    const mountError = tryMount(walDir);
    if (mountError !== null) {
      await rm(dataDir, { recursive: true, force: true });
      console.warn(`SKIPPED full WAL disk test: cannot mount a tmpfs (${mountError}); needs root`);
      ctx.skip();
      return;
    }
    // Segments just above the largest entry (8 MiB), so the 40 MiB disk holds a few of them.
    const settings = { walSegmentBytesMax: 9 * MiB, uploadIntervalMs: 3000, uploadBytesMax: 1024 * MiB };
    let broker: BrokerProcess | null = null;
    try {
      broker = await startBroker({ dataDir, settings });
      const port = broker.port;
      let kafka = kafkaClient(broker.bootstrap);
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
      let producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
      await producer.connect();
      let writer = new Writer(producer);

      // 1. About 20 MiB left for the WAL: fill it; the uploader (every 3 s) later trims it.
      await fill(join(walDir, 'filler-1'), (await freeBytes(walDir)) - 20 * MiB);
      expect(await writer.untilFull()).toBeGreaterThan(0);
      await expectExactlyAcked(kafka, writer.acked); // reads keep working
      await writer.untilAccepted(); // the uploader trimmed the WAL: room again, nobody helped
      console.log(`phase 1: ${writer.acked.length} acknowledged, resumed after uploads trimmed the WAL`);

      // 2. Fill every byte, then free it by hand: produce resumes (WAL retry timer or a trim).
      await fill(join(walDir, 'filler-2'));
      await writer.untilFull();
      await rm(join(walDir, 'filler-2'));
      await writer.untilAccepted();

      // 3. Full again, then SIGKILL: the restart on the full disk must come up, not loop.
      await writer.untilFull();
      await producer.disconnect();
      await broker.kill();
      await fill(join(walDir, 'filler-3')); // after the kill: nothing frees space behind our back
      expect(await freeBytes(walDir)).toBe(0);
      await broker.restart();
      kafka = kafkaClient(broker.bootstrap);
      await expectExactlyAcked(kafka, writer.acked);
      producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
      await producer.connect();
      writer = new Writer(producer, writer.acked, 900_000); // fresh values after the restart
      await rm(join(walDir, 'filler-3'));
      await writer.untilAccepted();
      await producer.disconnect();

      // 4. A clean stop, then a start on a disk with no room for the WAL's lock: one line, exit 1.
      expect(await broker.stop()).toBe(0);
      await fill(join(walDir, 'filler-4'));
      const startError = await startBroker({ dataDir, port, settings }).then(
        async (b) => { await b.stop(); return null; }, (err: unknown) => String(err));
      expect(startError).toMatch(/broker exited 1/);
      const lines = (startError ?? '').split('\n').filter((l) => l.startsWith('ledgerstream:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^ledgerstream: cannot start: WAL disk full: no space left in \S+\/wal /);

      // Space back: the start succeeds, everything acknowledged is there exactly once.
      for (const name of ['filler-1', 'filler-4']) await rm(join(walDir, name));
      await broker.restart();
      kafka = kafkaClient(broker.bootstrap);
      await expectExactlyAcked(kafka, writer.acked);
      console.log(`total: ${writer.acked.length} acknowledged, each read back once`);
    } finally {
      await broker?.kill();
      unmount(walDir);
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
