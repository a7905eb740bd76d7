/**
 * A Ledgerstream broker's Prometheus endpoint read as a flat map (series with labels → value),
 * for benchmarks to say where the work went (fsyncs, uploads, bytes fetched from the tail or from
 * object storage). Informative only: a failed scrape is an empty map.
 */
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
const DELAY_BUCKET = /^ledgerstream_event_loop_delay_seconds_bucket\{le="([^"]+)"\}$/;

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
 * The event-loop delay of one broker between two of its scrapes, from the cumulative histogram
 * ledgerstream_event_loop_delay_seconds: p99 and max as the upper bound of the bucket they fall
 * in (so "≤ this many ms"; Infinity past the last bound), NaN when the window holds no sample.
 */
export function eventLoopDelayWindow(after: Scrape, before: Scrape):
  { p99Ms: number; maxMs: number } {
  const buckets: { leS: number; count: number }[] = [];
  for (const key of after.keys()) {
    const m = DELAY_BUCKET.exec(key);
    if (!m) continue;
    const leS = m[1] === '+Inf' ? Infinity : Number(m[1]);
    buckets.push({ leS, count: delta(after, before, key) });
  }
  buckets.sort((a, b) => a.leS - b.leS);
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return { p99Ms: NaN, maxMs: NaN };
  const p99 = buckets.find((b) => b.count >= 0.99 * total)!;
  const max = buckets.find((b) => b.count === total)!;
  return { p99Ms: p99.leS * 1000, maxMs: max.leS * 1000 };
}
