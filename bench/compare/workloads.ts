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
 *               through the read cache; Kafka: its segment files, likely still in page cache);
 *   raw GET     on a system whose objects live in S3 (MinIO): every object of the bucket read
 *               whole with the broker's own S3 client, the ceiling of the catch-up read;
 *   agent fleet many idempotent producers at a low rate each, consumers in groups (fleet.ts);
 *   scenarios  on the systems the caller picks, after all of the above: TLS (tls.ts) and
 *               transactional produce (transactions.ts).
 *
 * Around every run the system's broker processes are metered (CPU seconds, RSS sampled every
 * 100 ms); the load generator's CPU is measured too, since both share the machine's 2 cores.
 * Ledgerstream brokers are also scraped before and after each run: object-store PUTs/s and
 * GETs/s per broker and the event-loop delay (p99, max) of the run's window.
 */
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { delta, eventLoopDelayWindow, FETCHED_ANY, FETCHED_OBJECTS, type Scrape, scrape,
  storeRequestRates, walFsyncWindow } from '../lib/broker-metrics.js';
import { type ConsumeResult, type ProduceResult, runLoad } from '../lib/kafkajs-load.js';
import { type MeterReading, ProcessMeter } from '../lib/proc-stats.js';
import { type Connection, consumerPerformance, endToEndLatency, producerPerformance,
  type ConsumerPerfResult, type EndToEndResult, type ProducerPerfResult } from './java-perf.js';
import { type FleetResult, type FleetSettings, runFleet } from './fleet.js';
import type { RawGetResult } from './raw-get.js';
import type { SystemUnderTest } from './systems.js';
import type { TlsResults } from './tls.js';
import type { TxnRun, TxnSettings } from './transactions.js';
import type { RunFailures } from './failures.js';
import { runEach } from './run-loop.js';

const CORES = cpus().length;

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

/** Everything a run of the workloads reads: the fixed workloads' sizes, the fleet's, the transactions'. */
export type AllWorkloadSettings = WorkloadSettings & FleetSettings & TxnSettings;

export const WORKLOAD_DEFAULTS: WorkloadSettings = { recordBytes: 1024, maxRecords: 150_000,
  rate: 5000, fixedS: 8, e2eRecords: 1000, kafkajsS: 8, warmupRecords: 30_000 };

export const WORKLOAD_LIMITS: Record<keyof WorkloadSettings, [number, number]> = {
  recordBytes: [1, 1 << 20], maxRecords: [1000, 10_000_000], rate: [10, 1_000_000],
  fixedS: [1, 600], e2eRecords: [10, 1_000_000], kafkajsS: [1, 600],
  warmupRecords: [1000, 10_000_000] };

export const PARTITION_COUNTS = [1, 16] as const;
export const ACKS = ['1', 'all'] as const;
export type Acks = (typeof ACKS)[number];

/** What a Ledgerstream broker's /metrics say about one run (empty or NaN for Kafka). */
export interface BrokerWindow {
  /** Object-store PUTs per second, one entry per broker. */
  putsPerS: number[];
  /** Object-store GETs (whole and ranged) per second, one entry per broker. */
  getsPerS: number[];
  /** Event-loop delay of the worst broker in the run's window (bucket upper bounds, ms). */
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  /** WAL fsync latency of the worst broker in the run's window (bucket upper bounds, ms). */
  walFsyncP50Ms: number;
  walFsyncP99Ms: number;
}

/** What the broker(s) did during one run. */
export interface BrokerUse extends BrokerWindow {
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

/**
 * One system's figures. A workload that failed (failures.ts) leaves its field unset (or its
 * produce run out of `produce`): the report shows n/a there and says why under Problems.
 */
export interface SystemResults {
  /** CPU profiles of the broker, one per run, when the system has a profiler: run label → file. */
  profiles: Record<string, string>;
  produce: ProduceRun[];
  e2e?: EndToEndResult;
  consume?: ConsumeRun;
  kafkajs?: KafkajsRun;
  catchUp?: ConsumeRun;
  /** Systems whose objects live in S3: every object read whole, straight from the store. */
  rawGet?: RawGetResult;
  fleet?: FleetResult & BrokerUse;
  /**
   * Highest RSS of the system's brokers in any run of the workloads above (sum over brokers of a
   * cluster), MiB; the scenarios' runs have their own peaks. Unset when none of them ran.
   */
  peakRssMiB?: number;
  /** The TLS scenario (tls.ts), on the systems it ran on. */
  tls?: TlsResults;
  /** The transactional produce scenario (transactions.ts), on the systems it ran on. */
  txn?: TxnRun;
}

/** A run's meter reading and its brokers' scrapes before and after. */
interface Metering {
  meter: MeterReading;
  before: Scrape[];
  after: Scrape[];
}

function brokerWindow(before: Scrape[], after: Scrape[], wallS: number): BrokerWindow {
  const rates = after.map((a, i) => storeRequestRates(a, before[i]!, wallS));
  const delays = after.map((a, i) => eventLoopDelayWindow(a, before[i]!));
  const fsyncs = after.map((a, i) => walFsyncWindow(a, before[i]!));
  const worst = (xs: number[]) => (xs.length === 0 ? NaN : Math.max(...xs));
  return { putsPerS: rates.map((r) => r.putsPerS), getsPerS: rates.map((r) => r.getsPerS),
    eventLoopP99Ms: worst(delays.map((d) => d.p99Ms)), eventLoopMaxMs: worst(delays.map((d) => d.maxMs)),
    // A cluster broker leading none of the run's partitions fsyncs nothing (NaN): not the worst.
    walFsyncP50Ms: worst(fsyncs.map((f) => f.p50Ms).filter((x) => !Number.isNaN(x))),
    walFsyncP99Ms: worst(fsyncs.map((f) => f.p99Ms).filter((x) => !Number.isNaN(x))) };
}

/**
 * What the brokers did over one metered run. `activeS` is how long the load generator itself
 * says it moved records (ProducerPerformance's records over its records/s), when it says so: the
 * PUT and GET rates divide by it rather than by the whole window, which also holds the JVM's
 * start-up and the group join, when the brokers make few requests (it understated the PUT rate).
 */
export function brokerUse(m: Metering, bytes: number, clientCpuS = m.meter.reapedChildrenCpuS,
  activeS?: number): BrokerUse {
  const r = m.meter;
  assert.ok(activeS === undefined || activeS > 0, 'a run that moved records took some time');
  return { wallS: r.wallS, brokerCpuS: r.cpuS, brokerCpuSPerGb: bytes > 0 ? r.cpuS / (bytes / 1e9) : NaN,
    peakRssMiB: r.peakRssKiB / 1024, clientCpuS, machineBusy: r.machineBusy,
    ...brokerWindow(m.before, m.after, Math.min(activeS ?? r.wallS, r.wallS)) };
}

/**
 * Cores the machine kept busy during a run beyond the broker and the load generator: above 0.5,
 * something else competed for the 2 cores and the run's figures are disturbed.
 */
export function coresBusyElsewhere(u: BrokerUse): number {
  return u.machineBusy * CORES - (u.brokerCpuS + u.clientCpuS) / u.wallS;
}

/** Seconds a Java perf tool spent moving its records, by its own count (undefined: none). */
function toolActiveS(r: { records: number; recordsPerS: number }): number | undefined {
  return r.records > 0 && r.recordsPerS > 0 ? r.records / r.recordsPerS : undefined;
}

async function scrapeAll(ports: number[]): Promise<Scrape[]> {
  return Promise.all(ports.map(scrape));
}

/**
 * Meters the system's brokers over one run (CPU, RSS, their /metrics before and after) and,
 * with a profiler, profiles the (single) broker too. `run` may bring its own meter reading
 * (a load generator that meters as it starts its children).
 */
export async function metered<T>(system: SystemUnderTest, profiles: Record<string, string>,
  label: string,
  run: () => Promise<T>, meterOf?: (result: T) => MeterReading): Promise<{ result: T } & Metering> {
  const pids = system.pids();
  await system.profiler?.start(pids[0]!);
  const before = await scrapeAll(system.metricsPorts);
  const meter = new ProcessMeter(pids);
  const result = await run();
  const reading = meter.stop();
  const after = await scrapeAll(system.metricsPorts);
  if (system.profiler) profiles[label] = await system.profiler.stop(pids[0]!);
  return { result, meter: meterOf?.(result) ?? reading, before, after };
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

/**
 * One system's run of the workloads: its settings, its run id, its log and its profiles, and
 * how Kafka's tools reach it (the plaintext listener; the TLS scenario's SSL listener).
 */
export interface Step {
  system: SystemUnderTest;
  connection: Connection;
  s: AllWorkloadSettings;
  topic(what: string): string;
  log(line: string): void;
  profiles: Record<string, string>;
}

export const produceWhat = (mode: string, partitions: number, acks: Acks) =>
  `${mode}-${partitions}p-acks${acks}`;

/** One ProducerPerformance run to a fresh topic, metered; `label` names it in profiles. */
export async function produceRun(st: Step, mode: 'fixed' | 'max', partitions: number, acks: Acks,
  label: string): Promise<ProduceRun> {
  const { system, s, connection } = st;
  const t = st.topic(produceWhat(mode, partitions, acks));
  await system.createTopic(t, partitions);
  const records = mode === 'fixed' ? s.rate * s.fixedS : s.maxRecords;
  const pace = mode === 'fixed' ? `${s.rate} records/s` : 'max throughput';
  st.log(`${system.id}: ${label} (${pace}), ${records} records`);
  const m = await metered(system, st.profiles, label,
    () => producerPerformance({ ...connection, topic: t, records,
      recordBytes: s.recordBytes, throughput: mode === 'fixed' ? s.rate : -1, acks }));
  return { ...m.result, ...brokerUse(m, records * s.recordBytes, undefined, toolActiveS(m.result)),
    partitions, acks, mode };
}

export async function consumeRun(st: Step, what: string, group: string, label: string):
  Promise<ConsumeRun> {
  const { system, s } = st;
  const m = await metered(system, st.profiles, label, () => consumerPerformance(st.connection,
    st.topic(what), s.maxRecords, s.recordBytes, group));
  return { ...m.result, ...brokerUse(m, m.result.records * s.recordBytes, undefined,
    toolActiveS(m.result)), objectStoreShare: objectStoreShare(m.before, m.after) };
}

/** kafkajs producers at max throughput (2 forked workers), then one group consumer reads it all. */
async function kafkajsRun(st: Step): Promise<{ run: KafkajsRun; consumePeakRssMiB: number }> {
  const { system, s } = st;
  const kafkajsTopic = st.topic('kafkajs');
  await system.createTopic(kafkajsTopic, 16);
  const bytesMax = 200e6;
  const workers = 2;
  const jobs = Array.from({ length: workers }, (_, w) => ({
    kind: 'produce' as const, bootstrap: system.bootstrap, topic: kafkajsTopic, partitions: 16,
    acks: -1 as const, producers: 4, inFlight: 8, ratePerS: null, recordsPerSend: 16,
    recordBytes: s.recordBytes, durationMs: s.kafkajsS * 1000, bytesMax: bytesMax / workers,
    firstPartition: w * 8,
  }));
  const m = await metered(system, st.profiles, 'kafkajs produce',
    () => runLoad<ProduceResult>(jobs, system.pids()), (r) => r.meter);
  const results = m.result.results;
  const records = results.reduce((a, r) => a + r.records, 0);
  const elapsedS = Math.max(...results.map((r) => r.elapsedMs)) / 1000;
  const latencies = Float64Array.from(results.flatMap((r) => Array.from(r.latenciesMs))).sort();
  const consumed = await runLoad<ConsumeResult>([{ kind: 'consume', bootstrap: system.bootstrap,
    topic: kafkajsTopic, expectedRecords: records, timeoutMs: 120_000 }], system.pids());
  const c = consumed.results[0]!;
  if (c.timedOut) throw new Error(`${system.id}: kafkajs consumer read ${c.records} of ${records} records before timing out`);
  const run: KafkajsRun = {
    ...brokerUse(m, records * s.recordBytes, results.reduce((a, r) => a + r.cpuS, 0),
      elapsedS),
    produceRecordsPerS: records / elapsedS, produceMbPerS: (records * s.recordBytes) / elapsedS / 1e6,
    produceP50Ms: percentile(latencies, 0.5), produceP99Ms: percentile(latencies, 0.99),
    produceErrors: results.reduce((a, r) => a + r.errors, 0),
    consumeRecordsPerS: c.records / (c.elapsedMs / 1000), consumeMbPerS: c.bytes / (c.elapsedMs / 1000) / 1e6,
  };
  return { run, consumePeakRssMiB: consumed.meter.peakRssKiB / 1024 };
}

/** The agent fleet (fleet.ts): its own topic, producers and consumer groups. */
export async function fleetRun(st: Step): Promise<FleetResult & BrokerUse> {
  const { system, s } = st;
  const t = st.topic('fleet');
  await system.createTopic(t, s.fleetPartitions);
  st.log(`${system.id}: agent fleet, ${s.fleetProducers} producers × ${s.fleetRate} records/s, ` +
    `${s.fleetGroups} groups × ${s.fleetConsumersPerGroup} consumers, ${s.fleetS} s`);
  const m = await metered(system, st.profiles, 'agent fleet',
    () => runFleet(system.bootstrap, t, `bench-${t}`, s));
  return { ...m.result, ...brokerUse(m, m.result.producedBytes) };
}

/** One workload or scenario: measures one thing and stores its figures in `into`. */
export interface Workload {
  /** Its name in the log and, when it fails, in the report's Problems. */
  name: string;
  run(st: Step, into: SystemResults): Promise<void>;
}

/** `into.peakRssMiB` raised to the highest of `mib`. */
function notePeakRss(into: SystemResults, ...mib: number[]): void {
  into.peakRssMiB = Math.max(into.peakRssMiB ?? 0, ...mib);
}

/** The produce run a later workload reads back; throws (it then fails too) if that run failed. */
function producedBy(into: SystemResults, partitions: number, acks: Acks): void {
  const hit = into.produce.some((p) => p.mode === 'max' && p.partitions === partitions &&
    p.acks === acks);
  if (!hit) throw new Error(`not run: it reads the topic of produce max ${partitions}p ` +
    `acks=${acks}, which failed`);
}

const produceWorkloads: Workload[] = PARTITION_COUNTS.flatMap((partitions) =>
  ACKS.flatMap((acks) => (['fixed', 'max'] as const).map((mode) => {
    const name = `produce ${mode} ${partitions}p acks=${acks}`;
    return { name, async run(st: Step, into: SystemResults) {
      const p = await produceRun(st, mode, partitions, acks, name);
      into.produce.push(p);
      notePeakRss(into, p.peakRssMiB);
    } };
  })));

/** The workloads of one system, in order (the header of this file). */
function workloads(runId: string, rawGet: boolean): Workload[] {
  const out: Workload[] = [
    { name: 'warm-up', run: warmUp },
    ...produceWorkloads,
    { name: 'end-to-end latency', async run(st, into) {
      const { system, s } = st;
      st.log(`${system.id}: end-to-end latency, ${s.e2eRecords} records one at a time`);
      await system.createTopic(st.topic('e2e'), 1);
      into.e2e = await endToEndLatency(system.bootstrap, st.topic('e2e'), s.e2eRecords,
        s.recordBytes);
    } },
    { name: 'consume just written', async run(st, into) {
      producedBy(into, 16, 'all');
      st.log(`${st.system.id}: consume ${st.s.maxRecords} records just written`);
      into.consume = await consumeRun(st, produceWhat('max', 16, 'all'), `bench-${runId}-hot`,
        'consume just written');
      notePeakRss(into, into.consume.peakRssMiB);
    } },
    { name: 'kafkajs produce and consume', async run(st, into) {
      st.log(`${st.system.id}: kafkajs produce for ${st.s.kafkajsS} s, then consume`);
      const kafkajs = await kafkajsRun(st);
      into.kafkajs = kafkajs.run;
      notePeakRss(into, kafkajs.run.peakRssMiB, kafkajs.consumePeakRssMiB);
    } },
    { name: 'agent fleet', async run(st, into) {
      into.fleet = await fleetRun(st);
      notePeakRss(into, into.fleet.peakRssMiB);
    } },
    { name: 'catch-up', async run(st, into) {
      producedBy(into, 16, '1');
      const what = produceWhat('max', 16, '1');
      st.log(`${st.system.id}: restart every broker, then catch-up read of ${st.s.maxRecords} ` +
        'records');
      await st.system.restartAll([st.topic(what)]);
      into.catchUp = await consumeRun(st, what, `bench-${runId}-catch-up`, 'catch-up');
      notePeakRss(into, into.catchUp.peakRssMiB);
    } },
  ];
  if (rawGet) {
    out.push({ name: 'raw GET', async run(st, into) {
      st.log(`${st.system.id}: raw GET of every object in the bucket`);
      into.rawGet = await st.system.rawGet!();
    } });
  }
  return out;
}

export async function warmUp(st: Step): Promise<void> {
  const { system, s } = st;
  st.log(`${system.id}: warm-up`);
  await system.createTopic(st.topic('warmup'), 16);
  await producerPerformance({ bootstrap: system.bootstrap, topic: st.topic('warmup'),
    records: s.warmupRecords, recordBytes: s.recordBytes, throughput: -1, acks: 'all' });
}

/**
 * Runs one system's workloads, then `scenarios` (after every workload, so that none of their
 * figures moves). A workload that throws is recorded in `failures` and the next one runs.
 */
export async function runWorkloads(system: SystemUnderTest, s: AllWorkloadSettings, runId: string,
  log: (line: string) => void, failures: RunFailures, scenarios: Workload[] = []):
  Promise<SystemResults> {
  const st: Step = { system, s, log, profiles: {}, topic: (what) => topicName(runId, system, what),
    connection: { bootstrap: system.bootstrap } };
  const into: SystemResults = { profiles: st.profiles, produce: [] };
  await runEach(st, [...workloads(runId, system.rawGet !== undefined), ...scenarios], into,
    failures);
  return into;
}
