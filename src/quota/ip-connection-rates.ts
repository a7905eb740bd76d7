/**
 * KIP-612's per-IP connection creation rate, as Kafka's ConnectionQuotas
 * (recordIpConnectionMaybeThrottle) enforces it: `connection_creation_rate` of the ip entity
 * naming the client's address, else of the default ip entity, else none. A new connection is
 * recorded in its address's rate; one that takes the rate over the quota is taken back out and
 * is not served: the broker holds it for the throttle time (at most one quota sample, Kafka's
 * maxThrottleTimeMs) and then closes it, so a client retrying at once cannot spin. Rates are
 * RateSensors, bounded in count.
 */
import { RateSensors, type SensorLimits } from './rate-sensors.js';
import { throttleTimeMs, type RateWindow } from './windowed-rate.js';
import { quotaLimits } from '../limits.js';

export class IpConnectionRates {
  private readonly sensors: RateSensors;

  constructor(private readonly window: RateWindow,
    private readonly quotaOf: (address: string) => number | null,
    limits: SensorLimits = quotaLimits) {
    this.sensors = new RateSensors(window, limits);
  }

  /**
   * Records a new connection from `address` (normalized): 0 when it may be served, else how long
   * to hold it before closing it (then nothing is recorded).
   */
  throttleMs(address: string, nowMs: number): number {
    const quota = this.quotaOf(address);
    if (quota === null) return 0;
    const rate = this.sensors.get(address, nowMs);
    rate.record(1, nowMs);
    const ms = throttleTimeMs(rate, quota, nowMs);
    if (ms === 0) return 0;
    rate.record(-1, nowMs);
    return Math.max(1, Math.min(ms, this.window.sampleMs));
  }

  get sensorCount(): number {
    return this.sensors.size;
  }
}
