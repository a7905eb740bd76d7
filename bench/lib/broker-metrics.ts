/**
 * A Ledgerstream broker's Prometheus endpoint read as a flat map (series with labels → value),
 * for benchmarks to say where the work went (fsyncs, uploads, bytes fetched from the tail or from
 * object storage). Informative only: a failed scrape is an empty map.
 */
import assert from 'node:assert/strict';

export type Scrape = Map<string, number>;

export async function scrape(metricsPort: number): Promise<Scrape> {
  const out: Scrape = new Map();
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    for (const line of (await res.text()).split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const i = line.lastIndexOf(' ');
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
  } catch {
    // metrics are informative only
  }
  return out;
}

export function delta(after: Scrape, before: Scrape, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

export const FETCHED_ANY = 'ledgerstream_fetched_bytes_total{source="any"}';
export const FETCHED_OBJECTS = 'ledgerstream_fetched_bytes_total{source="object-store"}';

const STORE_REQUESTS = (kind: string) => `ledgerstream_object_store_requests{kind="${kind}"}`;

/**
 * One broker's object-store requests per second between two of its scrapes (whole GETs and
 * ranged GETs together).
 */
export function storeRequestRates(after: Scrape, before: Scrape, wallS: number):
  { putsPerS: number; getsPerS: number } {
  const count = (kind: string) => delta(after, before, STORE_REQUESTS(kind));
  const gets = count('gets') + count('rangeGets');
  return { putsPerS: count('puts') / wallS, getsPerS: gets / wallS };
}

/**
 * Quantiles of one broker's cumulative Prometheus histogram `name` between two of its scrapes,
 * each as the upper bound of the bucket it falls in (so "≤ this many ms"; Infinity past the last
 * bound), NaN when the window holds no sample. `quantiles` are in (0, 1]; 1 is the max.
 */
export function histogramWindowMs(after: Scrape, before: Scrape, name: string,
  quantiles: readonly number[]): number[] {
  assert.ok(quantiles.every((q) => q > 0 && q <= 1), 'quantiles are in (0, 1]');
  const prefix = `${name}_bucket{le="`;
  const buckets: { leS: number; count: number }[] = [];
  for (const key of after.keys()) {
    if (!key.startsWith(prefix) || !key.endsWith('"}')) continue;
    const le = key.slice(prefix.length, -2);
    buckets.push({ leS: le === '+Inf' ? Infinity : Number(le), count: delta(after, before, key) });
  }
  buckets.sort((a, b) => a.leS - b.leS);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return quantiles.map(() => NaN);
  return quantiles.map((q) => buckets.find((b) => b.count >= q * total)!.leS * 1000);
}

/** The event-loop delay of one broker between two of its scrapes: p99 and max (see above). */
export function eventLoopDelayWindow(after: Scrape, before: Scrape):
  { p99Ms: number; maxMs: number } {
  const [p99Ms, maxMs] = histogramWindowMs(after, before, 'ledgerstream_event_loop_delay_seconds',
    [0.99, 1]);
  return { p99Ms: p99Ms!, maxMs: maxMs! };
}

/** WAL fsync latency of one broker between two of its scrapes: p50 and p99 (see above). A
 *  produce with acks waits for its fsync, so this names the disk's share of produce latency. */
export function walFsyncWindow(after: Scrape, before: Scrape):
  { p50Ms: number; p99Ms: number } {
  const [p50Ms, p99Ms] = histogramWindowMs(after, before, 'ledgerstream_wal_fsync_seconds',
    [0.5, 0.99]);
  return { p50Ms: p50Ms!, p99Ms: p99Ms! };
}
