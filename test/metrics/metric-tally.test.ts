/**
 * The tallied counter and histogram (src/metric-tally.ts) must serve on /metrics exactly what
 * prom-client's own Counter and Histogram serve for the same increments and observations: the
 * dashboards, alerts and `ledgerstream cluster status` read those lines. Each case feeds both the
 * same random values and compares the registries' text and JSON.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { TalliedCounter, TalliedHistogram } from '../../src/metric-tally.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A small deterministic generator, so a failure replays. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

it('a tallied counter exports what a prom-client counter exports, labelled and not', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const talliedTopic = new TalliedCounter(ours, 'bytes_total', 'Bytes by topic', ['topic']);
  const talliedPlain = new TalliedCounter(ours, 'plain_total', 'Bytes');
  const talliedPair = new TalliedCounter(ours, 'requests_total', 'Requests', ['api', 'outcome']);
  const topic = new Counter({ name: 'bytes_total', help: 'Bytes by topic', labelNames: ['topic'],
    registers: [theirs] });
  const plain = new Counter({ name: 'plain_total', help: 'Bytes', registers: [theirs] });
  const pair = new Counter({ name: 'requests_total', help: 'Requests',
    labelNames: ['api', 'outcome'], registers: [theirs] });
  const next = random(7);
  // Nothing counted yet: the unlabelled counter shows 0, the labelled ones no series.
  expect(await ours.metrics()).toBe(await theirs.metrics());
  // A series first counted with 0 shows at 0.
  talliedTopic.add('empty', { topic: 'empty' }, 0);
  topic.inc({ topic: 'empty' }, 0);
  expect(await ours.metrics()).toBe(await theirs.metrics());
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 500; i++) {
      const name = `t${Math.floor(next() * 5)}`;
      const n = Math.floor(next() * 1000);
      talliedTopic.add(name, { topic: name }, n);
      topic.inc({ topic: name }, n);
      talliedPlain.inc(n);
      plain.inc(n);
      const api = next() < 0.5 ? 'Produce' : 'Fetch';
      if (next() < 0.1) {
        talliedPair.add(`${api} closed`, { api, outcome: 'closed' });
        pair.inc({ api, outcome: 'closed' });
      } else {
        talliedPair.add(api, { api, outcome: 'ok' });
        pair.inc({ api, outcome: 'ok' });
      }
    }
    // Read between rounds too: what was flushed stays, what comes after adds to it.
    expect(await ours.metrics()).toBe(await theirs.metrics());
  }
  expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
});

it('a tallied histogram exports what a prom-client histogram exports, edges included', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const tallied = new TalliedHistogram(ours, 'request_seconds', 'Latency by API', ['api'], BUCKETS);
  const histogram = new Histogram({ name: 'request_seconds', help: 'Latency by API',
    labelNames: ['api'], buckets: BUCKETS, registers: [theirs] });
  const next = random(11);
  const apis = ['Produce', 'Fetch', 'Metadata'];
  for (let i = 0; i < 2000; i++) {
    const api = apis[Math.floor(next() * apis.length)]!;
    // Values on the edges (a value equal to a bound is in that bucket), between them, and above.
    const roll = next();
    const value = roll < 0.3 ? BUCKETS[Math.floor(next() * BUCKETS.length)]!
      : roll < 0.95 ? next() * 0.6 : 5 + next() * 10;
    tallied.observeKeyed(api, { api }, value);
    histogram.observe({ api }, value);
  }
  expect(await ours.metrics()).toBe(await theirs.metrics());
  expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  expect(() => tallied.observe({ api: 'Produce' }, 1)).toThrow(/observeKeyed/);
});
