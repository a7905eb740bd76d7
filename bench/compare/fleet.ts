/**
 * The agent-fleet workload (issue 13, target 6), the load the product exists for: many agents,
 * each its own idempotent producer (acks=-1) sending ~10 keyed JSON records of 300–800 bytes a
 * second, and consumer groups reading everything. Driven by bench/load-go (franz-go): a thousand
 * Java producers would need a thousand sender threads and buffers, and kafkajs spends about a
 * millisecond of CPU per request on one event loop, so either would measure itself on 2 cores;
 * a franz-go client is a few goroutines. The result says how many connections were really open.
 */
import { runGoLoad } from '../lib/go-load.js';

export interface FleetSettings {
  /** Agents: one producer client (with its own connections) each. */
  fleetProducers: number;
  /** Records per second per agent. */
  fleetRate: number;
  fleetGroups: number;
  fleetConsumersPerGroup: number;
  fleetPartitions: number;
  /** Measured seconds, after every producer has sent its first record. */
  fleetS: number;
}

export const FLEET_DEFAULTS: FleetSettings = { fleetProducers: 1000, fleetRate: 10, fleetGroups: 5,
  fleetConsumersPerGroup: 10, fleetPartitions: 64, fleetS: 60 };

export const FLEET_LIMITS: Record<keyof FleetSettings, [number, number]> = {
  fleetProducers: [1, 20_000], fleetRate: [1, 1000], fleetGroups: [0, 100],
  fleetConsumersPerGroup: [1, 1000], fleetPartitions: [1, 10_000], fleetS: [1, 3600],
};

export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
}

/** What bench/load-go's fleet subcommand prints. */
export interface FleetResult {
  producers: number;
  consumers: number;
  producerConnectionsPeak: number;
  consumerConnectionsPeak: number;
  produced: number;
  /** JSON value bytes acknowledged (keys and framing not counted). */
  producedBytes: number;
  produceErrors: number;
  firstError: string;
  measuredS: number;
  recordsPerS: number;
  /** Per record: Produce call to acknowledgement, records created in the measured window. */
  produce: LatencySummary;
  /** Per record and group: create timestamp to a consumer's poll, same records. */
  endToEnd: LatencySummary;
  groupConsumed: number[];
  /** Records a group was handed again after a partition moved (counted and timed once). */
  redelivered: number;
  /** Whether every group read every record of the window before the drain limit. */
  drained: boolean;
}

/** Agents arrive 10 ms apart (a thousand over 10 s), at most over 20 s. */
const RAMP_MS_PER_PRODUCER = 10;
const RAMP_S_MAX = 20;
const DRAIN_S = 60;

export async function runFleet(bootstrap: string, topic: string, groupPrefix: string,
  s: FleetSettings): Promise<FleetResult> {
  // The broker sees agents arrive rather than a thousand simultaneous handshakes.
  const rampS = Math.min(RAMP_S_MAX, (s.fleetProducers * RAMP_MS_PER_PRODUCER) / 1000);
  const flags = { 'bootstrap': bootstrap, 'topic': topic, 'group-prefix': groupPrefix,
    'producers': s.fleetProducers, 'rate': s.fleetRate, 'groups': s.fleetGroups,
    'consumers-per-group': s.fleetConsumersPerGroup, 'partitions': s.fleetPartitions,
    'duration': `${s.fleetS}s`, 'ramp': `${rampS.toFixed(3)}s`, 'drain-max': `${DRAIN_S}s` };
  const timeoutMs = (s.fleetS + RAMP_S_MAX + 2 * DRAIN_S + 60) * 1000;
  const r = await runGoLoad<FleetResult>('fleet', flags, timeoutMs);
  if (r.produceErrors > 0) {
    throw new Error(`agent fleet: ${r.produceErrors} records failed: ${r.firstError}`);
  }
  if (!r.drained) {
    const read = r.groupConsumed.join(', ');
    throw new Error(`agent fleet: groups read ${read} of ${r.produce.count} records`);
  }
  return r;
}
