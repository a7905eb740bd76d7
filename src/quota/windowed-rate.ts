/**
 * A rate over a sliding window of samples, exactly as Kafka's `Rate` over a `WindowedSum`
 * (org.apache.kafka.common.metrics.stats): `samples` buckets of `sampleMs` each, one extra slot
 * for the sample overlapping the window's start, samples with no event for `samples x sampleMs`
 * reset. The window a rate is divided by counts at least `samples - 1` whole samples, so a first
 * burst is measured over ~10 s (defaults), not over the milliseconds it took: a new client may
 * send about 10 s of its quota at once before it is throttled, as in Kafka.
 *
 * Time is passed in (`nowMs`), never read here.
 */
import assert from 'node:assert/strict';

export interface RateWindow {
  /** Kafka's quota.window.num. */
  readonly samples: number;
  /** Kafka's quota.window.size.seconds, in ms. */
  readonly sampleMs: number;
}

interface Sample {
  value: number;
  eventCount: number;
  startTimeMs: number;
  lastEventMs: number;
}

function newSample(nowMs: number): Sample {
  return { value: 0, eventCount: 0, startTimeMs: nowMs, lastEventMs: nowMs };
}

export class WindowedRate {
  private readonly samples: Sample[] = [];
  private current = 0;

  constructor(private readonly window: RateWindow) {
    assert.ok(Number.isSafeInteger(window.samples) && window.samples >= 2, 'at least 2 samples');
    assert.ok(Number.isSafeInteger(window.sampleMs) && window.sampleMs >= 1, 'sampleMs >= 1');
  }

  /** Adds `value` (negative to take back an earlier record) at `nowMs`. */
  record(value: number, nowMs: number): void {
    assert.ok(Number.isFinite(value), `recorded value ${value}`);
    let sample = this.currentSample(nowMs);
    if (nowMs - sample.startTimeMs >= this.window.sampleMs) sample = this.advance(nowMs);
    sample.value += value;
    sample.eventCount += 1;
    sample.lastEventMs = nowMs;
  }

  /** Units per second over the window. */
  measure(nowMs: number): number {
    this.purgeObsolete(nowMs);
    const sum = this.samples.reduce((total, s) => total + s.value, 0);
    return sum / (this.windowMs(nowMs) / 1000);
  }

  /** The span the rate is divided by: the oldest sample's start to now, at least samples - 1
   *  whole samples, at least 1 ms (Kafka's Rate.windowSize). */
  windowMs(nowMs: number): number {
    this.purgeObsolete(nowMs);
    const oldestStartMs = this.samples.length === 0 ? nowMs
      : Math.min(...this.samples.map((s) => s.startTimeMs));
    let elapsedMs = nowMs - oldestStartMs;
    const fullSamples = Math.floor(elapsedMs / this.window.sampleMs);
    const fullSamplesMin = this.window.samples - 1;
    if (fullSamples < fullSamplesMin) {
      elapsedMs += (fullSamplesMin - fullSamples) * this.window.sampleMs;
    }
    return Math.max(elapsedMs, 1);
  }

  private currentSample(nowMs: number): Sample {
    if (this.samples.length === 0) this.samples.push(newSample(nowMs));
    return this.samples[this.current]!;
  }

  private advance(nowMs: number): Sample {
    const slots = this.window.samples + 1; // one extra for the sample overlapping the start
    this.current = (this.current + 1) % slots;
    if (this.current >= this.samples.length) {
      const sample = newSample(nowMs);
      this.samples.push(sample);
      return sample;
    }
    const sample = this.samples[this.current]!;
    Object.assign(sample, newSample(nowMs));
    return sample;
  }

  /** Samples without an event for the whole window no longer count. */
  private purgeObsolete(nowMs: number): void {
    const expireAgeMs = this.window.samples * this.window.sampleMs;
    for (const sample of this.samples) {
      if (nowMs - sample.lastEventMs >= expireAgeMs) Object.assign(sample, newSample(nowMs));
    }
  }
}

/**
 * Kafka's QuotaUtils.throttleTime: how long until the rate, measured over the same window, is
 * back at `bound` — (rate - bound) / bound x window. 0 while the rate is within the bound.
 */
export function throttleTimeMs(rate: WindowedRate, bound: number, nowMs: number): number {
  assert.ok(bound > 0, `quota bound ${bound} is positive`);
  const value = rate.measure(nowMs);
  if (value <= bound) return 0;
  return Math.round((value - bound) / bound * rate.windowMs(nowMs));
}
