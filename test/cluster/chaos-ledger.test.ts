/**
 * The chaos oracle (chaos-ledger.ts) on known read-backs: a faithful one passes every check, and
 * each known-bad one (a record lost, duplicated, reordered, read though never acknowledged, read
 * at another offset than acknowledged, an offset gap) is reported by exactly the check for it.
 */
import { describe, expect, it } from 'vitest';
import { Ledger, type LedgerCheck, type ReadRecord } from './chaos-ledger.js';

/** Two partitions; stream a: a:0..a:2 to p0, stream b: b:0, b:1 to p1; all acknowledged. */
function sentLedger(): Ledger {
  let now = 0;
  const ledger = new Ledger({ now: () => now++ });
  const sends: [string, number, number][] = [
    ['a:0', 0, 0], ['a:1', 0, 1], ['a:2', 0, 2], ['b:0', 1, 0], ['b:1', 1, 1],
  ];
  for (const [id, partition, offset] of sends) {
    ledger.sending(id, partition);
    ledger.acked(id, offset);
  }
  return ledger;
}

function read(partition: number, offset: number, value: string): ReadRecord {
  return { partition, offset, value, batch: `pid 1 seq ${offset} epoch 0` };
}

const faithful = [
  read(0, 0, 'a:0'), read(0, 1, 'a:1'), read(0, 2, 'a:2'), read(1, 0, 'b:0'), read(1, 1, 'b:1'),
];

/** The checks that found something, by name. */
function failing(check: LedgerCheck): string[] {
  return Object.entries(check).filter(([, v]) => Array.isArray(v) && v.length > 0).map(([k]) => k);
}

describe('Ledger.check', () => {
  it('passes a faithful read-back, also one that hands an offset out twice', () => {
    const check = sentLedger().check(faithful, [3, 2]);
    expect(failing(check)).toEqual([]);
    expect(check.read).toBe(5);
    // A consumer re-reading the same offset (a rebalance) is not a duplicate of the record.
    expect(failing(sentLedger().check([...faithful, read(1, 1, 'b:1')], [3, 2]))).toEqual([]);
  });

  it('reports an acknowledged record that was not read back as lost', () => {
    const ledger = sentLedger();
    ledger.sending('a:3', 0);
    ledger.acked('a:3', 3);
    const check = ledger.check(faithful, [3, 2]);
    expect(failing(check)).toEqual(['lost']);
    expect(check.lost[0]).toMatch(/^a:3 \(p0, acknowledged at offset 3/);
  });

  it('does not count a record in doubt, or still pending, as lost', () => {
    const ledger = sentLedger();
    ledger.sending('a:3', 0);
    ledger.inDoubt('a:3');
    ledger.sending('a:4', 0);
    expect(failing(ledger.check(faithful, [3, 2]))).toEqual([]);
  });

  it('reports a record read back at two offsets as duplicated', () => {
    const check = sentLedger().check([...faithful, read(0, 3, 'a:1')], [4, 2]);
    expect(failing(check)).toEqual(['duplicated', 'reordered']);
    expect(check.duplicated[0]).toMatch(/^a:1 at p0\/1 .* and p0\/3 /);
  });

  it('reports a stream read back out of order as reordered', () => {
    const ledger = new Ledger({ now: () => 0 });
    for (const [id, offset] of [['a:0', 1], ['a:1', 0]] as const) {
      ledger.sending(id, 0);
      ledger.acked(id, offset);
    }
    const check = ledger.check([read(0, 0, 'a:1'), read(0, 1, 'a:0')], [2]);
    expect(failing(check)).toEqual(['reordered']);
    expect(check.reordered[0]).toBe('p0: a:0 at 1 after a:1 at 0');
  });

  it('reports a record read back that was never acknowledged, or never sent', () => {
    const ledger = sentLedger();
    ledger.sending('a:3', 0); // still pending: no answer yet, so it cannot have been written
    const check = ledger.check([...faithful, read(0, 3, 'a:3'), read(0, 4, 'z:0')], [5, 2]);
    expect(failing(check)).toEqual(['unacknowledgedRead']);
    expect(check.unacknowledgedRead).toEqual(['a:3 (pending) at p0/3', 'z:0 (never sent) at p0/4']);
  });

  it('reports a record read at another offset than it was acknowledged at', () => {
    const ledger = sentLedger();
    ledger.sending('b:2', 1);
    ledger.acked('b:2', 7);
    const check = ledger.check([...faithful, read(1, 2, 'b:2')], [3, 3]);
    expect(failing(check)).toEqual(['offsetMismatches']);
    expect(check.offsetMismatches).toEqual(['b:2: acknowledged at p1/7, read at p1/2']);
  });

  it('reports gaps, an offset read with two values, and a read short of the high watermark', () => {
    const withoutP0At1 = faithful.filter((r) => r.offset !== 1 || r.partition !== 0);
    const gap = sentLedger().check(withoutP0At1, [3, 2]);
    expect(gap.offsetAnomalies).toEqual(['p0: offsets 1..1 missing']);
    expect(gap.lost).toHaveLength(1);
    const twoValues = sentLedger().check([...faithful, read(1, 1, 'b:0')], [3, 2]);
    expect(twoValues.offsetAnomalies).toEqual(['p1 offset 1 read as b:1 and as b:0']);
    const short = sentLedger().check(faithful, [3, 4]);
    expect(failing(short)).toEqual(['offsetAnomalies']);
    expect(short.offsetAnomalies).toEqual(['p1: read up to 2, high watermark 4']);
  });
});
