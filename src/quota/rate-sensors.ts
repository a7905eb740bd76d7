/**
 * Measured rates by key (Kafka's sensors), bounded: at most `sensorsMax`, least recently used
 * dropped first, and a rate idle for `sensorIdleMs` dropped (Kafka purges its sensors after an
 * hour idle too). A dropped rate starts again from nothing, which only forgets a client that
 * stopped; so a client cycling ids or addresses cannot grow the broker's memory.
 */
import assert from 'node:assert/strict';
import { WindowedRate, type RateWindow } from './windowed-rate.js';

interface Sensor {
  rate: WindowedRate;
  lastUsedMs: number;
}

export interface SensorLimits {
  sensorsMax: number;
  sensorIdleMs: number;
}

export class RateSensors {
  /** By key; Map order is least recently used first. */
  private readonly sensors = new Map<string, Sensor>();

  constructor(private readonly window: RateWindow, private readonly limits: SensorLimits) {
    assert.ok(limits.sensorsMax >= 1 && limits.sensorIdleMs >= 1, 'sensor limits');
  }

  get size(): number {
    return this.sensors.size;
  }

  /** The rate of `key`, created when missing; marks it used at `nowMs`. */
  get(key: string, nowMs: number): WindowedRate {
    this.dropIdle(nowMs);
    let sensor = this.sensors.get(key);
    if (sensor === undefined) {
      sensor = { rate: new WindowedRate(this.window), lastUsedMs: nowMs };
      if (this.sensors.size >= this.limits.sensorsMax) {
        this.sensors.delete(this.sensors.keys().next().value!);
      }
    } else {
      this.sensors.delete(key); // re-inserted last: most recently used
    }
    sensor.lastUsedMs = nowMs;
    this.sensors.set(key, sensor);
    assert.ok(this.sensors.size <= this.limits.sensorsMax);
    return sensor.rate;
  }

  private dropIdle(nowMs: number): void {
    for (const [key, sensor] of this.sensors) {
      if (nowMs - sensor.lastUsedMs < this.limits.sensorIdleMs) break; // the rest are newer
      this.sensors.delete(key);
    }
  }
}
