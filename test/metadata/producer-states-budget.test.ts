/**
 * How one commit's producer lists are fitted into etcd
 * (src/metadata/etcd/producer-states-budget.ts): small lists go whole, crowded ones share what is
 * left and keep their most recent producers.
 */
import { describe, expect, it } from 'vitest';
import type { ProducerPartitionState } from '../../src/metadata/records.js';
import {
  encodeProducerListsWithin, encodeProducerStatesWithin,
} from '../../src/metadata/etcd/producer-states-budget.js';

const producers = (count: number, firstId = 0): ProducerPartitionState[] =>
  Array.from({ length: count }, (_, i) => ({ producerId: firstId + i, producerEpoch: 0,
    lastTimestampMs: 1_000 + i, recentBatches: [{ firstSequence: 0, lastSequence: 0,
      baseOffset: i, lastOffset: i }] }));
const bytes = (value: string) => Buffer.byteLength(value);
const ids = (value: string) =>
  (JSON.parse(value) as ProducerPartitionState[]).map((s) => s.producerId);

describe('encodeProducerListsWithin', () => {
  it('keeps lists that fit whole and shares the rest evenly among the crowded ones', () => {
    const small = producers(3);
    const crowded = [producers(2000), producers(3000)];
    const out = encodeProducerListsWithin([{ partition: 'a:0', states: crowded[0]! },
      { partition: 'a:1', states: small }, { partition: 'a:2', states: crowded[1]! }],
    64 * 1024, 100 * 1024);
    expect(out.get('a:1')).toEqual({ value: JSON.stringify(small), leftOut: 0, kept: 3 });
    const [first, second] = [out.get('a:0')!, out.get('a:2')!];
    const total = [...out.values()].reduce((n, l) => n + bytes(l.value), 0);
    expect(total).toBeLessThanOrEqual(100 * 1024);
    for (const [list, all] of [[first, crowded[0]!], [second, crowded[1]!]] as const) {
      expect(bytes(list.value)).toBeLessThanOrEqual(50 * 1024);
      expect(bytes(list.value)).toBeGreaterThan(45 * 1024);
      expect(list.kept + list.leftOut).toBe(all.length);
      // The most recent ones, in producer id order.
      expect(ids(list.value)).toEqual(all.slice(all.length - list.kept).map((s) => s.producerId));
    }
  });

  it('gives each list no more than its own cap, however much room is left', () => {
    const out = encodeProducerListsWithin([{ partition: 'a:0', states: producers(2000) }],
      16 * 1024, 1024 * 1024);
    expect(bytes(out.get('a:0')!.value)).toBeLessThanOrEqual(16 * 1024);
    expect(out.get('a:0')!.leftOut).toBeGreaterThan(0);
  });
});

describe('encodeProducerStatesWithin', () => {
  it('keeps the transaction index and producers in a transaction, however old', () => {
    const index: ProducerPartitionState = { producerId: -1, producerEpoch: -1, recentBatches: [],
      lastTimestampMs: 0, txnIndex: { open: [[5, 0]], aborted: [], markers: [] } };
    const list = encodeProducerStatesWithin([index, ...producers(1000)], 4096, 'a:0');
    expect(ids(list.value).slice(0, 2)).toEqual([-1, 5]);
    expect(bytes(list.value)).toBeLessThanOrEqual(4096);
  });

  it('refuses when what must stay does not fit by itself', () => {
    const index: ProducerPartitionState = { producerId: -1, producerEpoch: -1, recentBatches: [],
      lastTimestampMs: 0, txnIndex: { open: [], markers: [],
        aborted: Array.from({ length: 100 }, (_, i) => [i, i, i] as [number, number, number]) } };
    expect(() => encodeProducerStatesWithin([index, ...producers(10)], 512, 'a:0'))
      .toThrow(RangeError);
  });
});
