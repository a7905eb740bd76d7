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
