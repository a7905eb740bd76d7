/**
 * The event-loop delay histogram sees a stall: the loop is blocked on purpose for 150 ms and the
 * histogram must then hold a new sample above 100 ms, while most samples of the idle loop before
 * it lie below 20 ms (in seconds, not ms). It checks what is measured, not how fast anything is.
 */
import { expect, it } from 'vitest';
import { exportEventLoopDelay } from '../src/event-loop-delay.js';
import { createMetrics, type Metrics } from '../src/metrics.js';

const STALL_MS = 150;

function blockFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) { /* the stall being measured */ }
}

async function buckets(metrics: Metrics): Promise<Map<string, number>> {
  const name = 'ledgerstream_event_loop_delay_seconds';
  const text = await metrics.registry.getSingleMetricAsString(name);
  const out = new Map<string, number>();
  for (const m of text.matchAll(/_bucket\{le="([^"]+)"\} (\d+)/g)) out.set(m[1]!, Number(m[2]));
  out.set('count', Number(/_count (\d+)/.exec(text)?.[1]));
  return out;
}

it('records a stall of the event loop in a bucket of its length, and stops when told', async () => {
  const metrics = createMetrics();
  const stop = exportEventLoopDelay(metrics, 5);
  await new Promise((r) => setTimeout(r, 60));
  const idle = await buckets(metrics);
  expect(idle.get('count')).toBeGreaterThan(0);
  expect(idle.get('0.02')! / idle.get('count')!).toBeGreaterThan(0.5);
  blockFor(STALL_MS);
  await new Promise((r) => setTimeout(r, 30));
  const after = await buckets(metrics);
  // The stalled sample lies above 0.1 s (a busy machine may add late samples, never remove one).
  const above = (b: Map<string, number>) => b.get('+Inf')! - b.get('0.1')!;
  expect(above(after) - above(idle)).toBeGreaterThanOrEqual(1);
  stop();
  const stopped = (await buckets(metrics)).get('count');
  await new Promise((r) => setTimeout(r, 40));
  expect((await buckets(metrics)).get('count')).toBe(stopped);
});
