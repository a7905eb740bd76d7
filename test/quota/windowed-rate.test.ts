/**
 * WindowedRate and throttleTimeMs against the numbers Kafka's Rate, SampledStat and QuotaUtils
 * give for the same records (worked by hand from their code).
 */
import { expect, it } from 'vitest';
import { throttleTimeMs, WindowedRate } from '../../src/quota/windowed-rate.js';

const window = { samples: 11, sampleMs: 1000 };

it('divides a first burst by at least samples - 1 whole samples', () => {
  const rate = new WindowedRate(window);
  rate.record(10_000, 0);
  expect(rate.windowMs(0)).toBe(10_000);
  expect(rate.measure(0)).toBe(1000);
  expect(rate.windowMs(10_500)).toBe(10_500); // the first sample is still in the window
  rate.record(1000, 10_500);
  expect(rate.measure(10_500)).toBeCloseTo(11_000 / 10.5, 6);
  // The first sample expired: the window runs from the second one (0.5 s) plus 10 whole samples.
  expect(rate.measure(11_000)).toBeCloseTo(1000 / 10.5, 6);
});

it('forgets samples with no event for the whole window', () => {
  const rate = new WindowedRate(window);
  rate.record(5000, 0);
  expect(rate.measure(10_999)).toBeCloseTo(5000 / 10.999, 6);
  expect(rate.measure(11_000)).toBe(0);
});

it('throttles by (rate - bound) / bound x window, and not at all within the bound', () => {
  const rate = new WindowedRate(window);
  rate.record(10_000, 0);
  expect(throttleTimeMs(rate, 1000, 0)).toBe(0);
  rate.record(5_000, 0); // 15,000 over 10 s: 1,500/s against 1,000/s
  expect(throttleTimeMs(rate, 1000, 0)).toBe(5000);
  rate.record(-5_000, 0); // taken back, as a throttled Fetch does
  expect(throttleTimeMs(rate, 1000, 0)).toBe(0);
});

it('holds a client sending as fast as it is let through to the bound over a long run', () => {
  const rate = new WindowedRate(window);
  const bound = 1000;
  let sent = 0;
  let nowMs = 0;
  while (nowMs < 60_000) {
    rate.record(100, nowMs); // a 100-byte request, then whatever throttle it earns
    sent += 100;
    nowMs += Math.max(1, throttleTimeMs(rate, bound, nowMs));
  }
  expect(sent / 60).toBeGreaterThan(bound * 0.9);
  expect(sent / 60).toBeLessThan(bound * 1.2); // the first window's burst: about 10 s of quota
});
