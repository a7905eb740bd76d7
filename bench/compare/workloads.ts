/**
 * The workloads of the side-by-side benchmark, run in the same order against every system, and
 * the figures each yields. One call of runWorkloads() measures one system:
 *
 *   warm-up     ProducerPerformance, a few seconds at full speed to a throw-away topic (JIT);
 *   produce     for 1 and 16 partitions × acks=1 and acks=all: a fixed-rate run (latency at a
 *               rate every system sustains) and a max-throughput run, each to a fresh topic,
 *               with Kafka's ProducerPerformance (Java producer defaults: linger 5 ms, 16 KiB
 *               batches, idempotent with acks=all);
 *   end to end  EndToEndLatency: one record at a time through a 1-partition topic;
 *   consume     ConsumerPerformance reads the 16-partition acks=all topic right after it was
 *               written (Kafka: page cache; Ledgerstream: in-memory tail);
 *   kafkajs     the Node path: kafkajs producers at max throughput (16 partitions, acks=-1),
 *               then a kafkajs group consumer reads it back;
 *   catch-up    every broker restarted gracefully, then ConsumerPerformance reads the
 *               16-partition acks=1 topic, never read before (Ledgerstream: from object storage
 *               through the read cache; Kafka: its segment files, likely still in page cache).
 *
 * Around every run the system's broker processes are metered (CPU seconds, RSS sampled every
 * 100 ms); the load generator's CPU is measured too, since both share the machine's 2 cores.
 */
import { delta, FETCHED_ANY, FETCHED_OBJECTS, type Scrape, scrape } from '../lib/broker-metrics.js';
import { type ConsumeResult, type ProduceResult, runLoad } from '../lib/kafkajs-load.js';
import { type MeterReading, ProcessMeter } from '../lib/proc-stats.js';
import { consumerPerformance, endToEndLatency, producerPerformance, type ConsumerPerfResult,
  type EndToEndResult, type ProducerPerfResult } from './java-perf.js';
import type { SystemUnderTest } from './systems.js';

export interface WorkloadSettings {
  recordBytes: number;
  /** Records of each max-throughput run. */
  maxRecords: number;
  /** Records/s of the fixed-rate runs. */
  rate: number;
  /** Seconds of each fixed-rate run. */
  fixedS: number;
  /** Records of the end-to-end latency run (sequential: one in flight). */
  e2eRecords: number;
  /** Seconds of the kafkajs produce run. */
  kafkajsS: number;
  warmupRecords: number;
}

export const PARTITION_COUNTS = [1, 16] as const;
export const ACKS = ['1', 'all'] as const;
export type Acks = (typeof ACKS)[number];

/** What the broker(s) did during one run. */
export interface BrokerUse {
  wallS: number;
  brokerCpuS: number;
  /** Broker CPU seconds per 10^9 bytes of record values moved in the run. */
  brokerCpuSPerGb: number;
  peakRssMiB: number;
  /** CPU seconds of the load generator (its JVM or Node processes). */
  clientCpuS: number;
  machineBusy: number;
}

export interface ProduceRun extends ProducerPerfResult, BrokerUse {
  partitions: number;
  acks: Acks;
  mode: 'fixed' | 'max';
}

export interface ConsumeRun extends ConsumerPerfResult, BrokerUse {
  /** Ledgerstream: share of the fetched bytes served from object storage (undefined for Kafka). */
  objectStoreShare?: number;
}

export interface KafkajsRun extends BrokerUse {
  produceMbPerS: number;
  produceRecordsPerS: number;
  /** Per send() of 16 records, closed loop with 64 in flight: includes client-side queueing. */
  produceP50Ms: number;
  produceP99Ms: number;
  produceErrors: number;
  consumeMbPerS: number;
  consumeRecordsPerS: number;
}

export interface SystemResults {
  /** CPU profiles of the broker, one per run, when the system has a profiler: run label → file. */
  profiles: Record<string, string>;
  produce: ProduceRun[];
  e2e: EndToEndResult;
  consume: ConsumeRun;
  kafkajs: KafkajsRun;
  catchUp: ConsumeRun;
  /** Highest RSS of the system's brokers in any run (sum over brokers of a cluster), MiB. */
  peakRssMiB: number;
}

function brokerUse(m: MeterReading, bytes: number, clientCpuS = m.reapedChildrenCpuS): BrokerUse {
  return { wallS: m.wallS, brokerCpuS: m.cpuS, brokerCpuSPerGb: bytes > 0 ? m.cpuS / (bytes / 1e9) : NaN,
    peakRssMiB: m.peakRssKiB / 1024, clientCpuS, machineBusy: m.machineBusy };
}

/** Meters the system's brokers over one run and, with a profiler, profiles the (single) broker too. */
async function metered<T>(system: SystemUnderTest, profiles: Record<string, string>, label: string,
  run: () => Promise<T>): Promise<{ result: T; meter: MeterReading }> {
  const pids = system.pids();
  await system.profiler?.start(pids[0]!);
  const meter = new ProcessMeter(pids);
  const result = await run();
  const reading = meter.stop();
  if (system.profiler) profiles[label] = await system.profiler.stop(pids[0]!);
  return { result, meter: reading };
}

async function scrapeAll(ports: number[]): Promise<Scrape[]> {
  return Promise.all(ports.map(scrape));
}

function objectStoreShare(before: Scrape[], after: Scrape[]): number | undefined {
  if (before.length === 0) return undefined;
  let any = 0;
  let objects = 0;
  after.forEach((a, i) => {
    any += delta(a, before[i]!, FETCHED_ANY);
    objects += delta(a, before[i]!, FETCHED_OBJECTS);
  });
  return any > 0 ? objects / any : NaN;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function topicName(runId: string, system: SystemUnderTest, what: string): string {
  return `bench-${runId}-${system.id}-${what}`;
}

export async function runWorkloads(system: SystemUnderTest, s: WorkloadSettings, runId: string,
  log: (line: string) => void): Promise<SystemResults> {
  const topic = (what: string) => topicName(runId, system, what);
  const produceTopic = (mode: string, partitions: number, acks: Acks) => topic(`${mode}-${partitions}p-acks${acks}`);

  log(`${system.id}: warm-up`);
  await system.createTopic(topic('warmup'), 16);
  await producerPerformance({ bootstrap: system.bootstrap, topic: topic('warmup'), records: s.warmupRecords,
    recordBytes: s.recordBytes, throughput: -1, acks: 'all' });

  const profiles: Record<string, string> = {};
  const produce: ProduceRun[] = [];
  for (const partitions of PARTITION_COUNTS) {
    for (const acks of ACKS) {
      for (const mode of ['fixed', 'max'] as const) {
        const t = produceTopic(mode, partitions, acks);
        await system.createTopic(t, partitions);
        const records = mode === 'fixed' ? s.rate * s.fixedS : s.maxRecords;
        log(`${system.id}: produce ${mode === 'fixed' ? `at ${s.rate} records/s` : 'at max throughput'}, ${partitions} partition(s), acks=${acks}, ${records} records`);
        const { result, meter } = await metered(system, profiles, `produce ${mode} ${partitions}p acks=${acks}`, () => producerPerformance({ bootstrap: system.bootstrap,
          topic: t, records, recordBytes: s.recordBytes, throughput: mode === 'fixed' ? s.rate : -1, acks }));
        produce.push({ ...result, ...brokerUse(meter, records * s.recordBytes), partitions, acks, mode });
      }
    }
  }

  log(`${system.id}: end-to-end latency, ${s.e2eRecords} records one at a time`);
  await system.createTopic(topic('e2e'), 1);
  const e2e = await endToEndLatency(system.bootstrap, topic('e2e'), s.e2eRecords, s.recordBytes);

  const consumeRun = async (t: string, group: string, label: string): Promise<ConsumeRun> => {
    const before = await scrapeAll(system.metricsPorts);
    const { result, meter } = await metered(system, profiles, label, () => consumerPerformance(system.bootstrap, t, s.maxRecords,
      s.recordBytes, group));
    return { ...result, ...brokerUse(meter, result.records * s.recordBytes),
      objectStoreShare: objectStoreShare(before, await scrapeAll(system.metricsPorts)) };
  };
  log(`${system.id}: consume ${s.maxRecords} records just written`);
  const consume = await consumeRun(produceTopic('max', 16, 'all'), `bench-${runId}-hot`, 'consume just written');

  log(`${system.id}: kafkajs produce for ${s.kafkajsS} s, then consume`);
  const kafkajsTopic = topic('kafkajs');
  await system.createTopic(kafkajsTopic, 16);
  const bytesMax = 200e6;
  const workers = 2;
  const produced = await runLoad<ProduceResult>(Array.from({ length: workers }, (_, w) => ({
    kind: 'produce' as const, bootstrap: system.bootstrap, topic: kafkajsTopic, partitions: 16, acks: -1 as const,
    producers: 4, inFlight: 8, ratePerS: null, recordsPerSend: 16, recordBytes: s.recordBytes,
    durationMs: s.kafkajsS * 1000, bytesMax: bytesMax / workers, firstPartition: w * 8,
  })), system.pids());
  const records = produced.results.reduce((a, r) => a + r.records, 0);
  const elapsedS = Math.max(...produced.results.map((r) => r.elapsedMs)) / 1000;
  const latencies = Float64Array.from(produced.results.flatMap((r) => Array.from(r.latenciesMs))).sort();
  const consumed = await runLoad<ConsumeResult>([{ kind: 'consume', bootstrap: system.bootstrap, topic: kafkajsTopic,
    expectedRecords: records, timeoutMs: 120_000 }], system.pids());
  const c = consumed.results[0]!;
  if (c.timedOut) throw new Error(`${system.id}: kafkajs consumer read ${c.records} of ${records} records before timing out`);
  const kafkajs: KafkajsRun = {
    ...brokerUse(produced.meter, records * s.recordBytes, produced.results.reduce((a, r) => a + r.cpuS, 0)),
    produceRecordsPerS: records / elapsedS, produceMbPerS: (records * s.recordBytes) / elapsedS / 1e6,
    produceP50Ms: percentile(latencies, 0.5), produceP99Ms: percentile(latencies, 0.99),
    produceErrors: produced.results.reduce((a, r) => a + r.errors, 0),
    consumeRecordsPerS: c.records / (c.elapsedMs / 1000), consumeMbPerS: c.bytes / (c.elapsedMs / 1000) / 1e6,
  };

  const catchUpTopic = produceTopic('max', 16, '1');
  log(`${system.id}: restart every broker, then catch-up read of ${s.maxRecords} records`);
  await system.restartAll([catchUpTopic]);
  const catchUp = await consumeRun(catchUpTopic, `bench-${runId}-catch-up`, 'catch-up');

  const peakRssMiB = Math.max(...produce.map((r) => r.peakRssMiB), consume.peakRssMiB, kafkajs.peakRssMiB,
    consumed.meter.peakRssKiB / 1024, catchUp.peakRssMiB);
  return { profiles, produce, e2e, consume, kafkajs, catchUp, peakRssMiB };
}
