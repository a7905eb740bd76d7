/**
 * Event-loop delay as a Prometheus histogram, `ledgerstream_event_loop_delay_seconds`: a timer
 * wakes every `eventLoopSampleMs` and records how much later than asked it ran. While JavaScript
 * holds the thread (a synchronous SQLite commit, a large copy, a long GC pause) every request
 * waits that long, so the tail of this histogram is the stall a client's p99 sees.
 *
 * Why a cumulative histogram rather than gauges reset at each scrape: prom-client's default
 * metrics already export `nodejs_eventloop_lag_{p99,max}_seconds` from monitorEventLoopDelay,
 * but they reset whenever anyone scrapes, so with two readers (Prometheus and a benchmark, or
 * `ledgerstream cluster status`) each sees only the window since the other's last read; and
 * they report the timer's interval (10 ms when idle), not the delay. Buckets only ever grow, so
 * every reader takes the difference between two of its own scrapes and gets the p99 and the
 * largest delay of exactly its window (to a bucket's width), and rates sum across brokers.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Histogram } from 'prom-client';
import { processMetricsLimits } from './limits.js';
import type { Metrics } from './metrics.js';

/** Starts sampling into the broker's registry; returns what stops it (at shutdown). */
export function exportEventLoopDelay(metrics: Metrics,
  sampleMs: number = processMetricsLimits.eventLoopSampleMs): () => void {
  assert.ok(Number.isInteger(sampleMs) && sampleMs >= 1, 'eventLoopSampleMs is a whole ms >= 1');
  const histogram = new Histogram({
    name: 'ledgerstream_event_loop_delay_seconds', registers: [metrics.registry],
    help: `How late a timer asked to run every ${sampleMs} ms ran (every request waits as long)`,
    buckets: [...processMetricsLimits.eventLoopDelayBucketsS],
  });
  let expectedAtMs = performance.now() + sampleMs;
  const timer = setInterval(() => {
    const nowMs = performance.now();
    histogram.observe(Math.max(0, nowMs - expectedAtMs) / 1000);
    // From now rather than the schedule: one stall is one late sample, not a burst of them.
    expectedAtMs = nowMs + sampleMs;
  }, sampleMs);
  timer.unref();
  return () => clearInterval(timer);
}
