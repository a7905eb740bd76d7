import { describe, expect, it } from 'vitest';
import { histogramWindowMs, type Scrape, walFsyncWindow } from '../../bench/lib/broker-metrics.js';

const FSYNC = 'ledgerstream_wal_fsync_seconds';

/** A scrape of one cumulative histogram: bucket upper bound (s) → count at or below it. */
function histogram(name: string, counts: [string, number][]): Scrape {
  return new Map(counts.map(([le, n]) => [`${name}_bucket{le="${le}"}`, n]));
}

describe('quantiles of a histogram between two scrapes', () => {
  const before = histogram(FSYNC, [['0.001', 10], ['0.01', 10], ['0.1', 10], ['+Inf', 10]]);
  // In the window: 60 fsyncs ≤ 1 ms, 39 more ≤ 10 ms, 1 more ≤ 100 ms.
  const after = histogram(FSYNC, [['0.001', 70], ['0.01', 109], ['0.1', 110], ['+Inf', 110]]);

  it('counts only the samples of the window, as bucket upper bounds in ms', () => {
    expect(walFsyncWindow(after, before)).toEqual({ p50Ms: 1, p99Ms: 10 });
    expect(histogramWindowMs(after, before, FSYNC, [1])).toEqual([100]);
  });

  it('says Infinity past the last bound and NaN for an empty window or another metric', () => {
    const slow = histogram(FSYNC, [['0.001', 10], ['0.01', 10], ['0.1', 10], ['+Inf', 20]]);
    expect(histogramWindowMs(slow, before, FSYNC, [0.5])).toEqual([Infinity]);
    expect(walFsyncWindow(before, before)).toEqual({ p50Ms: NaN, p99Ms: NaN });
    const other = histogram('ledgerstream_wal_fsync_seconds_total', [['+Inf', 5]]);
    expect(histogramWindowMs(other, new Map(), FSYNC, [0.5])).toEqual([NaN]);
  });

  it('refuses a quantile outside (0, 1]', () => {
    expect(() => histogramWindowMs(after, before, FSYNC, [0])).toThrow(/quantiles/);
  });
});
