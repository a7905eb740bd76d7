/**
 * Takeover recovery of a dead broker's partition (walMode=shared) with a backlog larger than one
 * object: the new leader replays the dead broker's real WAL into objects of at most
 * `objectBytesMax` batch bytes, oldest first, each committed under its own epoch, and the index
 * ends up contiguous and byte-identical to the WAL (issue 8 item 4: it used to build one object
 * from everything). Embedded coordinator, local-folder store, a real WAL on disk.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeBatch } from '../../protocol/records/record.js';
import { recoverPartition, recoverPartitions } from '../../src/cluster/recover-partition.js';
import { SqliteMetadata } from '../../src/metadata/sqlite/metadata.js';
import { SegmentCommitter } from '../../src/partition/segment-committer.js';
import { LocalFolderStore } from '../../storage/object-store/local-folder.js';
import { SegmentKeyAllocator } from '../../storage/segment/naming.js';
import { readCheckpoint } from '../../storage/wal/checkpoint.js';
import { Wal, partitionHeaderCodec } from '../../storage/wal/index.js';

const DEAD = 2;
const TAKER = 1;
const OBJECT_BYTES_MAX = 32 * 1024;

let dir: string;
let metadata: SqliteMetadata;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'recover-test-'));
  metadata = new SqliteMetadata(':memory:');
});
afterEach(async () => {
  await metadata.close();
  await rm(dir, { recursive: true, force: true });
});

describe('recoverPartition with a backlog of many objects', () => {

  it('commits the dead broker\'s WAL in bounded objects, contiguous and byte-identical', async () => {
    const topicId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
    await metadata.topics.create({ name: 'taken', topicId, partitionCount: 2, configs: {},
      createdAtMs: 1_700_000_000_000 }, DEAD);
    // The dead broker's WAL: partition 0 and 1 interleaved, 2 records per batch.
    const sharedWalDir = path.join(dir, 'wal');
    const wal = await Wal.open({ dir: path.join(sharedWalDir, String(DEAD)), headerCodec: partitionHeaderCodec });
    const written: Buffer[] = [];
    for (let i = 0; i < 60; i++) {
      const partition = i % 2;
      const baseOffset = Math.floor(i / 2) * 2;
      const batch = await encodeBatch({ baseTimestamp: 1_700_000_000_000, baseOffset,
        records: [0, 1].map((r) => ({ key: null, value: Buffer.alloc(2000, (i + r) % 251) })) });
      if (partition === 0) written.push(batch);
      await wal.append({ topicId, partition, baseOffset: BigInt(baseOffset) }, batch);
    }
    await wal.close();
    const state = await metadata.leadership.setLeader(topicId, 0, TAKER);
    expect(state.recoverFrom).toBe(DEAD);

    const store = await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') });
    const recovered = await recoverPartition({ metadata, store, keys: new SegmentKeyAllocator(TAKER),
      sharedWalDir, nowMs: Date.now, objectBytesMax: OBJECT_BYTES_MAX }, state);
    expect(recovered.batches).toBe(30);
    expect(recovered.state).toMatchObject({ recoverFrom: -1, indexedEndOffset: 60 });

    const after = (await metadata.leadership.states(topicId))[0]!;
    expect(after.recoverFrom).toBe(-1);
    expect(after.indexedEndOffset).toBe(60);
    const segments = await metadata.segments.list(topicId, 0, 0, 1000);
    const objects = new Set(segments.map((s) => s.objectKey));
    const writtenBytes = written.reduce((n, b) => n + b.length, 0);
    expect(objects.size).toBeGreaterThanOrEqual(Math.floor(writtenBytes / OBJECT_BYTES_MAX));
    let next = 0;
    const read: Buffer[] = [];
    for (const s of segments) {
      expect(s.baseOffset).toBe(next);
      expect(s.sizeBytes).toBeLessThanOrEqual(OBJECT_BYTES_MAX);
      next = s.lastOffset + 1;
      read.push(await store.getRange(s.objectKey, s.position, s.position + s.sizeBytes));
    }
    expect(next).toBe(60);
    expect(Buffer.concat(read).equals(Buffer.concat(written))).toBe(true);
  });
});

describe('recoverPartitions', () => {
  it('recovers several partitions in one read of the WAL, each where its index ends', async () => {
    const topicId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
    await metadata.topics.create({ name: 'taken2', topicId, partitionCount: 3, configs: {},
      createdAtMs: 1_700_000_000_000 }, DEAD);
    const sharedWalDir = path.join(dir, 'wal');
    const wal = await Wal.open({ dir: path.join(sharedWalDir, String(DEAD)),
      headerCodec: partitionHeaderCodec });
    const written: Buffer[][] = [[], [], []];
    for (let i = 0; i < 30; i++) {
      const partition = i % 3;
      const baseOffset = Math.floor(i / 3);
      const batch = await encodeBatch({ baseTimestamp: 1_700_000_000_000, baseOffset,
        records: [{ key: null, value: Buffer.alloc(100, i) }] });
      written[partition]!.push(batch);
      await wal.append({ topicId, partition, baseOffset: BigInt(baseOffset) }, batch);
    }
    await wal.close();
    // Partition 2 stays with the dead broker: its entries are skipped.
    const states = [await metadata.leadership.setLeader(topicId, 0, TAKER),
      await metadata.leadership.setLeader(topicId, 1, TAKER)];
    const store = await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') });
    const recovered = await recoverPartitions({ metadata, store,
      keys: new SegmentKeyAllocator(TAKER), sharedWalDir, nowMs: Date.now,
      objectBytesMax: OBJECT_BYTES_MAX }, states);
    expect(recovered.map((r) => [r.state.partition, r.batches, r.state.recoverFrom,
      r.state.indexedEndOffset])).toEqual([[0, 10, -1, 10], [1, 10, -1, 10]]);
    for (const partition of [0, 1]) {
      const read: Buffer[] = [];
      for (const s of await metadata.segments.list(topicId, partition, 0, 1000)) {
        read.push(await store.getRange(s.objectKey, s.position, s.position + s.sizeBytes));
      }
      expect(Buffer.concat(read).equals(Buffer.concat(written[partition]!))).toBe(true);
    }
    expect(await metadata.segments.list(topicId, 2, 0, 1000)).toEqual([]);
  });
});

describe('recovery from the owner\'s upload checkpoint', () => {
  it('reads the WAL only from the checkpoint and recovers exactly the batches not uploaded',
    async () => {
      const topicId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');
      await metadata.topics.create({ name: 'checkpointed', topicId, partitionCount: 1,
        configs: {}, createdAtMs: 1_700_000_000_000 }, DEAD);
      const sharedWalDir = path.join(dir, 'wal');
      const walDir = path.join(sharedWalDir, String(DEAD));
      const wal = await Wal.open({ dir: walDir, headerCodec: partitionHeaderCodec });
      const store = await LocalFolderStore.open({ rootDir: path.join(dir, 'objects') });
      const batches: Buffer[] = [];
      const append = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const baseOffset = batches.length;
          const batch = await encodeBatch({ baseTimestamp: 1_700_000_000_000, baseOffset,
            records: [{ key: null, value: Buffer.alloc(500, baseOffset % 251) }] });
          batches.push(batch);
          await wal.append({ topicId, partition: 0, baseOffset: BigInt(baseOffset) }, batch);
        }
      };
      // The owner, alive: 20 batches uploaded (as its uploader commits them), WAL trimmed below
      // them, which checkpoints there; then 10 more that only its WAL holds when it dies.
      await append(20);
      const owned = (await metadata.leadership.states(topicId))[0]!;
      await new SegmentCommitter(store, metadata.segments, new SegmentKeyAllocator(DEAD), Date.now)
        .commit([{ topicId, partition: 0, batches: batches.slice(0, 20) }],
          () => ({ producerStates: [], leaderEpoch: owned.leaderEpoch }));
      await wal.truncateBefore(21);
      await append(10);
      await wal.close();
      const checkpoint = await readCheckpoint(walDir);
      expect(checkpoint).toMatchObject({ lsn: 21, segmentBaseLsn: 1 });
      const state = await metadata.leadership.setLeader(topicId, 0, TAKER);
      expect(state).toMatchObject({ recoverFrom: DEAD, indexedEndOffset: 20 });

      const recovered = await recoverPartition({ metadata, store,
        keys: new SegmentKeyAllocator(TAKER), sharedWalDir, nowMs: Date.now,
        objectBytesMax: OBJECT_BYTES_MAX }, state);
      expect(recovered.batches).toBe(10);
      const notUploaded = batches.slice(20).reduce((n, b) => n + b.length, 0);
      const { replay } = recovered;
      expect(replay).toMatchObject({ walEntries: 10, recoveredBytes: notUploaded,
        checkpointRefused: null });
      // Only the 10 entries past the checkpoint were read: payloads plus their frames.
      const frameBytes = (replay.walBytesRead - notUploaded) / 10;
      expect(frameBytes).toBeGreaterThan(0);
      expect(frameBytes).toBeLessThan(100);
      expect(replay.walBytesSkipped).toBe(typeof checkpoint === 'string' ? -1
        : checkpoint.offsetBytes);
      expect(recovered.state).toMatchObject({ recoverFrom: -1, indexedEndOffset: 30 });
      const read: Buffer[] = [];
      let next = 0;
      for (const s of await metadata.segments.list(topicId, 0, 0, 1000)) {
        expect(s.baseOffset).toBe(next);
        next = s.lastOffset + 1;
        read.push(await store.getRange(s.objectKey, s.position, s.position + s.sizeBytes));
      }
      expect(next).toBe(30);
      expect(Buffer.concat(read).equals(Buffer.concat(batches))).toBe(true);
    });
});
