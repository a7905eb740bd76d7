/**
 * The per-partition transaction index without the network: the last stable offset, the aborted
 * list read_committed gets, snapshots as of an upload's end restored as a new leader would, a
 * marker rolled back (WAL disk full), and a marker resent by a coordinator not written twice.
 */
import { describe, expect, it } from 'vitest';
import { readBatchHeader } from '../../protocol/records/batch-header.js';
import { encodeMarkerBatch, readMarker } from '../../protocol/records/control-batch.js';
import { PartitionTxns, TXN_INDEX_PRODUCER_ID,
  withTxnIndex } from '../../src/partition/txn-index.js';

describe('control batches', () => {
  it('encode a marker that reads back with its type and coordinator epoch', () => {
    for (const type of ['commit', 'abort'] as const) {
      const batch = encodeMarkerBatch({ producerId: 42, producerEpoch: 3, type,
        coordinatorEpoch: 77, timestampMs: 5 });
      const h = readBatchHeader(batch, 0);
      expect([h.isControl, h.isTransactional, Number(h.producerId), h.producerEpoch, h.baseSequence,
        h.recordCount])
        .toEqual([true, true, 42, 3, -1, 1]);
      expect(readMarker(batch, h)).toEqual({ type, coordinatorEpoch: 77 });
    }
  });
});

describe('PartitionTxns', () => {
  it('holds the LSO at the first open transaction until its marker is durable', () => {
    const t = new PartitionTxns();
    t.noteData(1, 10, 0);
    t.noteData(2, 14, 0);
    t.noteData(1, 20, 0);
    expect(t.lastStableOffset(30)).toBe(10);
    t.noteMarker(1, 30, 'commit', 1);
    expect(t.lastStableOffset(30)).toBe(10); // marker at 30 is not below the high watermark yet
    expect(t.lastStableOffset(31)).toBe(14);
    t.noteMarker(2, 31, 'abort', 1);
    expect(t.lastStableOffset(32)).toBe(32);
    expect(t.abortedBetween(0, 32)).toEqual([{ producerId: 2, firstOffset: 14, lastOffset: 31 }]);
    expect(t.abortedBetween(32, 40)).toEqual([]); // the abort ended before the fetch starts
    expect(t.abortedBetween(0, 14)).toEqual([]); // nor did it start inside [0, 14)
  });

  it('snapshots as of an upload end and restores the same view', () => {
    const t = new PartitionTxns();
    t.noteData(5, 0, 0);
    t.noteMarker(5, 3, 'abort', 7);
    t.noteData(6, 4, 1);
    t.noteData(7, 5, 0);
    t.noteMarker(7, 9, 'commit', 2);
    // As of offset 6: 7's commit at 9 is not yet part of the range: 7 is still open then.
    const states = withTxnIndex([], t, 6);
    expect(states.map((s) => s.producerId)).toEqual([TXN_INDEX_PRODUCER_ID]);
    const restored = PartitionTxns.fromProducerList(JSON.parse(JSON.stringify(states))).txns;
    expect(restored.lastStableOffset(6)).toBe(4);
    expect(restored.openTxnStart(7)).toBe(5);
    expect(restored.abortedBetween(0, 6)).toEqual([{ producerId: 5, firstOffset: 0,
      lastOffset: 3 }]);
    expect(restored.markerWritten(5, 7)).toBe(true);
    expect(restored.markerWritten(5, 8)).toBe(false);
  });

  it('reopens a transaction whose marker was rolled back, so the resent marker is written', () => {
    const t = new PartitionTxns();
    t.noteData(1, 0, 0);
    t.noteMarker(1, 5, 'abort', 3);
    t.rollBack(5);
    expect(t.openTxnStart(1)).toBe(0);
    expect(t.abortedBetween(0, 10)).toEqual([]);
    expect(t.markerWritten(1, 3)).toBe(false);
    expect(t.lastStableOffset(10)).toBe(0);
  });

  it('drops aborted transactions below the log start offset', () => {
    const t = new PartitionTxns();
    t.noteData(1, 0, 0);
    t.noteMarker(1, 2, 'abort', 1);
    t.noteData(1, 3, 0);
    t.noteMarker(1, 6, 'abort', 2);
    t.trimBelow(3);
    expect(t.abortedBetween(0, 10)).toEqual([{ producerId: 1, firstOffset: 3, lastOffset: 6 }]);
  });
});
