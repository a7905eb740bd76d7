/**
 * One quota type's enforcement (Kafka's ClientQuotaManager): a measured rate per group of
 * clients that share a quota (QuotaTable.tags), recorded per request, and the throttle time that
 * brings a group over its quota back to it. Nothing is recorded for a type nobody set a quota
 * of, as in Kafka.
 *
 * Memory: the rates are RateSensors, bounded in count and dropped when idle.
 */
import type { QuotaTable } from './quota-table.js';
import { RateSensors, type SensorLimits } from './rate-sensors.js';
import { throttleTimeMs, type WindowedRate, type RateWindow } from './windowed-rate.js';
import { quotaLimits } from '../limits.js';

export type { SensorLimits };

export class ClientQuotaManager {
  /** By tags. */
  private readonly sensors: RateSensors;

  constructor(readonly key: string, private readonly window: RateWindow,
    private readonly table: () => QuotaTable, limits: SensorLimits = quotaLimits) {
    this.sensors = new RateSensors(window, limits);
  }

  /**
   * Records `value` for the client and returns how long it must be throttled: 0 within its
   * quota or without one, else the time its rate needs to come back to the quota.
   */
  recordAndGetThrottleTimeMs(user: string, clientId: string, value: number, nowMs: number):
    number {
    const table = this.table();
    if (!table.hasAny(this.key)) return 0;
    const tags = table.tags(this.key, user, clientId);
    const rate = this.sensor(`${tags.user}\u0000${tags.clientId}`, nowMs);
    rate.record(value, nowMs);
    const bound = table.limit(this.key, tags);
    if (bound === null) return 0;
    return Math.min(throttleTimeMs(rate, bound, nowMs), quotaLimits.throttleMsMax);
  }

  /**
   * Kafka's getMaxValueInQuotaWindow: the most one request may record without being throttled
   * whatever came before (quota x (samples - 1) sample lengths); Infinity without a quota. Fetch
   * answers are capped at it, or a consumer whose one answer exceeds it would be throttled and
   * answered empty forever.
   */
  maxValueInWindow(user: string, clientId: string): number {
    const table = this.table();
    if (!table.hasAny(this.key)) return Infinity;
    const bound = table.limit(this.key, table.tags(this.key, user, clientId));
    if (bound === null) return Infinity;
    return bound * (this.window.samples - 1) * this.window.sampleMs / 1000;
  }

  /** Takes back a recorded value (a throttled Fetch answers without its records). */
  unrecord(user: string, clientId: string, value: number, nowMs: number): void {
    const table = this.table();
    if (!table.hasAny(this.key)) return;
    const tags = table.tags(this.key, user, clientId);
    this.sensor(`${tags.user}\u0000${tags.clientId}`, nowMs).record(-value, nowMs);
  }

  get sensorCount(): number {
    return this.sensors.size;
  }

  private sensor(tagsKey: string, nowMs: number): WindowedRate {
    return this.sensors.get(tagsKey, nowMs);
  }
}
