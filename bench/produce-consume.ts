/**
 * End-to-end broker benchmark: produce and consume 1 KiB records through a real broker process
 * with kafkajs, for acks=1 and acks=-1. A benchmark, not a test: it prints figures and asserts
 * nothing about them. Run with `npm run bench:broker` (compiles, then runs this file with tsx).
 *
 * What it does, in order, against one broker started with embedded defaults in a temp folder
 * (local object folder + SQLite coordinator; see test/helpers/broker-process.ts):
 *
 *   1. warm-up: a few seconds at full speed to a throw-away topic (JIT, connections, WAL files);
 *   2. per acks: open-loop produce at a fixed moderate rate → per-send() latency p50/p99;
 *   3. per acks: closed-loop produce at max throughput → MB/s, records/s, per-send() latency,
 *      then read the topic back from the beginning with a kafkajs consumer while it is still in
 *      the broker's in-memory tail;
 *   4. broker restart (SIGTERM: graceful, uploads the WAL), then read both topics back again:
 *      every byte now comes from object storage through the read cache ("catch-up read").
 *
 * The load (kafkajs producers and the consumer) runs in forked child processes — kafkajs is CPU
 * heavy and must not share an event loop with the orchestrator — which stays idle and only
 * samples the broker's /proc/<pid>/stat (CPU) and /proc/<pid>/status (RSS) and its Prometheus
 * endpoint (to check where fetched bytes came from: tail or object store).
 *
 * The machine is shared by the broker and the clients: the table also reports how much CPU the
 * clients burned, so a reader can tell a broker limit from a client limit.
 *
 * Flags (or environment variables BENCH_<NAME>, e.g. BENCH_DURATION_S=10):
 *   --duration-s 20          seconds of each max-throughput produce phase
 *   --max-mb 200             MB cap of each max-throughput phase (must fit the 256 MiB tail)
 *   --latency-duration-s 15  seconds of each fixed-rate phase
 *   --rate 2000              records/s of the fixed-rate phases
 *   --warmup-s 3             seconds of warm-up
 *   --partitions 8           partitions per topic
 *   --workers 2              load-generator child processes
 *   --producers 8            kafkajs producers in total (spread over the workers)
 *   --in-flight 8            concurrent send() calls per producer in the max-throughput phases
 *   --records-per-send 16    records per send() call (one batch, one partition)
 *   --record-bytes 1024      value size
 *   BENCH_REVISION           label for the code measured (default: the checkout's commit)
 *   --cpu-prof               sample the broker's CPU as node --cpu-prof does (1 ms); print its top functions
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BrokerProcess, startBroker } from '../test/helpers/broker-process.js';
import { freePort } from '../test/helpers/ports.js';
import { delta, FETCHED_ANY, FETCHED_OBJECTS, type Scrape, scrape } from './lib/broker-metrics.js';
import { cpuProfPreload, summarizeProfile } from './lib/cpu-profile.js';
import { type ConsumeResult, kafkaFor, type LoadJob, type LoadResult, type ProduceJob, type ProduceResult,
  runLoad } from './lib/kafkajs-load.js';
import { benchEnvName, flagName } from './lib/flags.js';
import { log, revision } from './lib/run-info.js';
import { machineJiffies, type MeterReading, statusKiB } from './lib/proc-stats.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RESULTS_DIR = path.join(HERE, 'results');
const RAW_DIR = path.join(RESULTS_DIR, 'raw');
/** The broker's default --tail-bytes-max: a tail read only stays a tail read below it. */
const TAIL_BYTES_DEFAULT = 256 * 1024 * 1024;
const KAFKAJS_VERSION = (createRequire(import.meta.url)('kafkajs/package.json') as { version: string }).version;
const MB = 1e6;
const GB = 1e9;

// ---------------------------------------------------------------------------------------------
// Settings

interface Settings {
  durationS: number;
  maxMb: number;
  latencyDurationS: number;
  rate: number;
  warmupS: number;
  partitions: number;
  workers: number;
  producers: number;
  inFlight: number;
  recordsPerSend: number;
  recordBytes: number;
  cpuProf: boolean;
}

const NUMERIC: Record<Exclude<keyof Settings, 'cpuProf'>, number> = {
  durationS: 20, maxMb: 200, latencyDurationS: 15, rate: 2000, warmupS: 3, partitions: 8,
  workers: 2, producers: 8, inFlight: 8, recordsPerSend: 16, recordBytes: 1024,
};

const INTEGER = new Set<keyof typeof NUMERIC>(['partitions', 'workers', 'producers', 'inFlight', 'recordsPerSend', 'recordBytes']);


function loadSettings(argv: string[]): Settings {
  const options: Record<string, { type: 'string' | 'boolean' }> = { 'cpu-prof': { type: 'boolean' } };
  for (const name of Object.keys(NUMERIC)) options[flagName(name)] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true });
  const out = { cpuProf: values['cpu-prof'] === true || ['1', 'true'].includes(process.env.BENCH_CPU_PROF ?? '') } as Settings;
  for (const [name, fallback] of Object.entries(NUMERIC) as [keyof typeof NUMERIC, number][]) {
    const raw = (values[flagName(name)] as string | undefined) ?? process.env[benchEnvName(name)];
    const value = raw === undefined ? fallback : Number(raw);
    const integer = INTEGER.has(name);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new Error(`--${flagName(name)} (${benchEnvName(name)}): expected a positive ${integer ? 'integer' : 'number'}, got ${raw}`);
    }
    out[name] = value;
  }
  out.workers = Math.min(out.workers, out.producers);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Orchestrator side: running jobs in children

interface PhaseRun<R> {
  results: R[];
  meter: MeterReading;
  before: Scrape;
  after: Scrape;
}

/** Runs the jobs in forked children together, metering the broker, with its metrics scraped around. */
async function runPhase<R extends LoadResult>(broker: BrokerProcess, metricsPort: number, jobs: LoadJob[]):
  Promise<PhaseRun<R>> {
  let before: Scrape = new Map();
  const { results, meter } = await runLoad<R>(jobs, [broker.pid!], async () => { before = await scrape(metricsPort); });
  return { results, meter, before, after: await scrape(metricsPort) };
}

// ---------------------------------------------------------------------------------------------
// Orchestrator side: phases

/** CPU over one phase, from its start signal to the last client's result (consume: group join included). */
interface CpuUse {
  wallS: number;
  brokerCpuS: number;
  clientCpuS: number;
  /** Share of all the machine's cores busy (any process, kernel threads too). */
  machineBusy: number;
}

interface ProducePhase extends CpuUse {
  records: number;
  bytes: number;
  sends: number;
  errors: number;
  firstError: string | null;
  elapsedS: number;
  p50: number;
  p99: number;
  peakRssKiB: number;
  entriesPerFsync: number;
  fsyncMs: number;
  /** Broker-side mean time of a Produce request (decode to response), from its metrics. */
  brokerProduceMs: number;
  uploads: number;
  uploadMs: number;
}

function sumMatching(run: PhaseRun<LoadResult>, pattern: RegExp): number {
  let total = 0;
  for (const key of run.after.keys()) if (pattern.test(key)) total += delta(run.after, run.before, key);
  return total;
}

/** Mean of a Prometheus histogram (in seconds) over a phase, in ms. */
function meanMs(run: PhaseRun<LoadResult>, name: string, labels: string): number {
  return (1000 * delta(run.after, run.before, `${name}_sum${labels}`)) / delta(run.after, run.before, `${name}_count${labels}`);
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function producePhase(s: Settings, broker: BrokerProcess, metricsPort: number, topic: string,
  acks: 1 | -1, mode: 'max' | 'rate', durationS: number, bytesMax: number): Promise<ProducePhase> {
  const workers = mode === 'rate' ? 1 : s.workers;
  const jobs: ProduceJob[] = Array.from({ length: workers }, (_, w) => ({
    kind: 'produce', bootstrap: broker.bootstrap, topic, partitions: s.partitions, acks,
    producers: mode === 'rate' ? 1 : Math.floor(s.producers / workers) + (w < s.producers % workers ? 1 : 0),
    inFlight: s.inFlight, ratePerS: mode === 'rate' ? s.rate / s.recordsPerSend : null,
    recordsPerSend: s.recordsPerSend, recordBytes: s.recordBytes, durationMs: durationS * 1000,
    bytesMax: Math.floor(bytesMax / workers), firstPartition: Math.floor((w * s.partitions) / workers),
  }));
  const run = await runPhase<ProduceResult>(broker, metricsPort, jobs);
  const latencies = Float64Array.from(run.results.flatMap((r) => Array.from(r.latenciesMs))).sort();
  const fsyncs = delta(run.after, run.before, 'ledgerstream_wal_fsync_seconds_count');
  return {
    records: sum(run.results.map((r) => r.records)),
    bytes: sum(run.results.map((r) => r.bytes)),
    sends: sum(run.results.map((r) => r.sends)),
    errors: sum(run.results.map((r) => r.errors)),
    firstError: run.results.find((r) => r.firstError !== null)?.firstError ?? null,
    elapsedS: Math.max(...run.results.map((r) => r.elapsedMs)) / 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    wallS: run.meter.wallS,
    brokerCpuS: run.meter.cpuS,
    clientCpuS: sum(run.results.map((r) => r.cpuS)),
    machineBusy: run.meter.machineBusy,
    peakRssKiB: run.meter.peakRssKiB,
    entriesPerFsync: delta(run.after, run.before, 'ledgerstream_wal_entries_per_fsync_sum') / fsyncs,
    fsyncMs: (delta(run.after, run.before, 'ledgerstream_wal_fsync_seconds_sum') * 1000) / fsyncs,
    brokerProduceMs: meanMs(run, 'ledgerstream_request_seconds', '{api="Produce"}'),
    uploads: delta(run.after, run.before, 'ledgerstream_upload_seconds_count'),
    uploadMs: meanMs(run, 'ledgerstream_upload_seconds', ''),
  };
}

interface ConsumePhase extends CpuUse {
  records: number;
  bytes: number;
  expected: number;
  elapsedS: number;
  startupS: number;
  timedOut: boolean;
  peakRssKiB: number;
  /** Share of the fetched bytes that came from object storage. */
  objectStoreShare: number;
  objectGets: number;
  fetches: number;
  offsetCommits: number;
}

async function highWatermarkSum(bootstrap: string, topic: string): Promise<number> {
  const admin = kafkaFor(bootstrap, 'bench-admin').admin();
  await admin.connect();
  try {
    return sum((await admin.fetchTopicOffsets(topic)).map((p) => Number(p.high) - Number(p.low)));
  } finally {
    await admin.disconnect();
  }
}

async function consumePhase(broker: BrokerProcess, metricsPort: number, topic: string): Promise<ConsumePhase> {
  const expected = await highWatermarkSum(broker.bootstrap, topic);
  const run = await runPhase<ConsumeResult>(broker, metricsPort, [{ kind: 'consume', bootstrap: broker.bootstrap,
    topic, expectedRecords: expected, timeoutMs: 120_000 }]);
  const r = run.results[0]!;
  const any = delta(run.after, run.before, FETCHED_ANY);
  const gets = sumMatching(run, /^ledgerstream_object_store_requests\{kind="(gets|rangeGets)"\}$/);
  return { records: r.records, bytes: r.bytes, expected, elapsedS: r.elapsedMs / 1000, startupS: r.startupMs / 1000,
    timedOut: r.timedOut, wallS: run.meter.wallS, brokerCpuS: run.meter.cpuS, clientCpuS: r.cpuS, machineBusy: run.meter.machineBusy,
    peakRssKiB: run.meter.peakRssKiB, objectStoreShare: any > 0 ? delta(run.after, run.before, FETCHED_OBJECTS) / any : NaN,
    objectGets: gets, fetches: sumMatching(run, /^ledgerstream_requests_total\{api="Fetch"/),
    offsetCommits: sumMatching(run, /^ledgerstream_requests_total\{api="OffsetCommit"/) };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

function fmt(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits);
}

async function main(): Promise<void> {
  const s = loadSettings(process.argv.slice(2));
  const bytesMax = s.maxMb * MB;
  if (bytesMax > 0.8 * TAIL_BYTES_DEFAULT) {
    log(`warning: --max-mb ${s.maxMb} is close to the 256 MiB in-memory tail; "tail" reads may come partly from object storage`);
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/-\d+Z$/, 'Z');
  await mkdir(RAW_DIR, { recursive: true });
  const profDir = path.join(RAW_DIR, `cpuprof-${stamp}`);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-'));
  const metricsPort = await freePort();
  const savedNodeOptions = process.env.NODE_OPTIONS;
  // Node 20 refuses --cpu-prof in NODE_OPTIONS, and the broker is spawned by the test helper, so
  // the profiler comes in as a preload (--require is allowed there) that does what --cpu-prof does.
  const preload = path.join(profDir, 'cpu-prof-preload.cjs');
  if (s.cpuProf) {
    await mkdir(profDir, { recursive: true });
    await writeFile(preload, cpuProfPreload(profDir));
  }
  const withProfiler = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (!s.cpuProf) return fn();
    process.env.NODE_OPTIONS = `${savedNodeOptions ?? ''} --require ${JSON.stringify(preload)}`.trim();
    try {
      return await fn();
    } finally {
      if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
      else process.env.NODE_OPTIONS = savedNodeOptions;
    }
  };

  // The figures assume the machine is otherwise idle: measure that before starting anything.
  const idle0 = machineJiffies();
  await new Promise((r) => setTimeout(r, 1000));
  const idle1 = machineJiffies();
  const busyBefore = ((idle1.busy - idle0.busy) / (idle1.total - idle0.total)) * os.cpus().length;
  if (busyBefore > 0.25) log(`warning: ${busyBefore.toFixed(2)} cores were already busy before the benchmark started`);
  log(`data folder ${dataDir}; settings ${JSON.stringify(s)}`);
  // Embedded defaults (local object folder, SQLite coordinator, WAL under dataDir) plus the test
  // helper's own overrides (group rebalance delay 0, log level info) and a metrics endpoint.
  const broker = await withProfiler(() => startBroker({ dataDir, settings: { metricsPort } }));
  const pids = [broker.pid!];
  log(`broker pid ${broker.pid} on ${broker.bootstrap}`);
  let brokerStopped = false;
  try {
    const topics = {
      warmup: 'bench-warmup',
      rate: { 1: 'bench-rate-acks1', [-1]: 'bench-rate-acksall' } as Record<1 | -1, string>,
      max: { 1: 'bench-max-acks1', [-1]: 'bench-max-acksall' } as Record<1 | -1, string>,
    };
    const admin = kafkaFor(broker.bootstrap, 'bench-admin').admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [topics.warmup, ...Object.values(topics.rate),
      ...Object.values(topics.max)].map((topic) => ({ topic, numPartitions: s.partitions })) });
    await admin.disconnect();

    log(`warm-up: ${s.warmupS} s at full speed`);
    await producePhase(s, broker, metricsPort, topics.warmup, 1, 'max', s.warmupS, 64 * MB);

    const rate = {} as Record<1 | -1, ProducePhase>;
    const max = {} as Record<1 | -1, ProducePhase>;
    const tail = {} as Record<1 | -1, ConsumePhase>;
    const catchUp = {} as Record<1 | -1, ConsumePhase>;
    const ACKS = [1, -1] as const;
    for (const acks of ACKS) {
      log(`acks=${acks}: fixed rate ${s.rate} records/s for ${s.latencyDurationS} s`);
      rate[acks] = await producePhase(s, broker, metricsPort, topics.rate[acks], acks, 'rate', s.latencyDurationS,
        Number.MAX_SAFE_INTEGER);
    }
    for (const acks of ACKS) {
      log(`acks=${acks}: max throughput for ${s.durationS} s (at most ${s.maxMb} MB)`);
      max[acks] = await producePhase(s, broker, metricsPort, topics.max[acks], acks, 'max', s.durationS, bytesMax);
      log(`  ${fmt(max[acks].bytes / MB / max[acks].elapsedS)} MB/s; reading it back from the tail`);
      tail[acks] = await consumePhase(broker, metricsPort, topics.max[acks]);
      log(`  ${fmt(tail[acks].bytes / MB / tail[acks].elapsedS)} MB/s`);
    }
    const hwm1KiB = statusKiB(broker.pid!, 'VmHWM');

    log('restarting the broker (graceful stop uploads the WAL)');
    await broker.stop();
    await withProfiler(() => broker.restart());
    pids.push(broker.pid!);
    for (const acks of ACKS) {
      log(`catch-up read of ${topics.max[acks]} from object storage`);
      catchUp[acks] = await consumePhase(broker, metricsPort, topics.max[acks]);
      log(`  ${fmt(catchUp[acks].bytes / MB / catchUp[acks].elapsedS)} MB/s`);
    }
    const hwm2KiB = statusKiB(broker.pid!, 'VmHWM');
    await broker.stop();
    brokerStopped = true;

    const report = renderReport(s, { rate, max, tail, catchUp, hwm1KiB, hwm2KiB, stamp, busyBefore, revision: revision() });
    let profileSection = '';
    if (s.cpuProf) {
      const files = existsSync(profDir) ? readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')) : [];
      const parts: string[] = [];
      for (const [i, pid] of pids.entries()) {
        const file = files.find((f) => f.includes(`.${pid}.`));
        if (file === undefined) continue;
        const what = i === 0 ? 'first broker process (warm-up, all produce phases, tail reads)' : 'restarted broker (catch-up reads)';
        parts.push(`### CPU profile: ${what}\n\n\`${path.relative(process.cwd(), path.join(profDir, file))}\`\n\n${await summarizeProfile(path.join(profDir, file))}`);
      }
      profileSection = `\n\n## Broker CPU profile (--cpu-prof: 1 ms sampling; the figures above include its overhead)\n\n${parts.join('\n\n')}\n`;
    }
    const markdown = `${report}${profileSection}`.trimEnd() + '\n';
    const out = path.join(RESULTS_DIR, `broker-${stamp}.md`);
    await writeFile(out, markdown);
    await writeFile(path.join(RAW_DIR, `broker-${stamp}.json`), JSON.stringify({ settings: s, rate, max, tail, catchUp,
      hwm1KiB, hwm2KiB, busyBefore }, null, 2));
    process.stdout.write(`\n${markdown}`);
    log(`written to ${path.relative(process.cwd(), out)}`);
  } catch (err) {
    process.stderr.write(`broker output (tail):\n${broker.output().slice(-4000)}\n`);
    throw err;
  } finally {
    if (!brokerStopped) await broker.kill();
    await rm(dataDir, { recursive: true, force: true });
  }
}

interface Figures {
  rate: Record<1 | -1, ProducePhase>;
  max: Record<1 | -1, ProducePhase>;
  tail: Record<1 | -1, ConsumePhase>;
  catchUp: Record<1 | -1, ConsumePhase>;
  hwm1KiB: number;
  hwm2KiB: number;
  stamp: string;
  /** Cores busy during the second before the broker started. */
  busyBefore: number;
  revision: string;
}

function renderReport(s: Settings, f: Figures): string {
  const ncpu = os.cpus().length;
  const both = (fn: (acks: 1 | -1) => string) => `${fn(1)} | ${fn(-1)}`;
  const mbps = (p: { bytes: number; elapsedS: number }) => fmt(p.bytes / MB / p.elapsedS);
  const rps = (p: { records: number; elapsedS: number }) => fmt(p.records / p.elapsedS);
  const lat = (p: ProducePhase) => `${fmt(p.p50, 1)} / ${fmt(p.p99, 1)}`;
  const cpuPerGb = (p: { brokerCpuS: number; bytes: number }) => fmt(p.brokerCpuS / (p.bytes / GB), 1);
  const use = (p: CpuUse) =>
    `${(p.brokerCpuS / p.wallS).toFixed(2)} / ${(p.clientCpuS / p.wallS).toFixed(2)} / ${(p.machineBusy * ncpu).toFixed(2)}`;
  const mib = (kib: number) => fmt(kib / 1024, 0);
  const pct = (x: number) => (Number.isFinite(x) ? `${fmt(100 * x, 0)}%` : 'n/a');
  const sendKiB = (s.recordsPerSend * s.recordBytes) / 1024;
  const concurrency = s.producers * s.inFlight;
  const rows: [string, string][] = [
    ['**Produce at max throughput** (MB/s)', both((a) => mbps(f.max[a]))],
    ['Produce at max throughput (records/s)', both((a) => rps(f.max[a]))],
    [`Produce latency at max throughput, p50 / p99 (ms per send(), ${concurrency} in flight)`, both((a) => lat(f.max[a]))],
    [`Produce latency at a fixed ${fmt(s.rate, 0)} records/s, p50 / p99 (ms per send())`, both((a) => lat(f.rate[a]))],
    ['Broker-side Produce request time, mean at max / at fixed rate (ms)', both((a) => `${fmt(f.max[a].brokerProduceMs, 2)} / ${fmt(f.rate[a].brokerProduceMs, 2)}`)],
    ['WAL entries per fsync / mean fdatasync (ms), at max', both((a) => `${fmt(f.max[a].entriesPerFsync)} / ${fmt(f.max[a].fsyncMs, 2)}`)],
    ['Broker CPU, produce at max (CPU s per GB)', both((a) => cpuPerGb(f.max[a]))],
    [`CPU in use at max, broker / clients / whole machine (cores of ${ncpu})`, both((a) => use(f.max[a]))],
    ['Data produced at max (MB in s)', both((a) => `${fmt(f.max[a].bytes / MB, 0)} in ${fmt(f.max[a].elapsedS)}`)],
    ['**Consume from the in-memory tail** (MB/s)', both((a) => mbps(f.tail[a]))],
    ['Consume from the tail (records/s)', both((a) => rps(f.tail[a]))],
    ['Tail read: share of bytes served from object storage (should be 0%)', both((a) => pct(f.tail[a].objectStoreShare))],
    ['Broker CPU, tail read (CPU s per GB)', both((a) => cpuPerGb(f.tail[a]))],
    [`CPU in use, tail read, broker / client / whole machine (cores of ${ncpu})`, both((a) => use(f.tail[a]))],
    ['**Catch-up read from object storage** after a restart (MB/s)', both((a) => mbps(f.catchUp[a]))],
    ['Catch-up read (records/s)', both((a) => rps(f.catchUp[a]))],
    ['Catch-up read: share from object storage / ranged GETs', both((a) => `${pct(f.catchUp[a].objectStoreShare)} / ${fmt(f.catchUp[a].objectGets, 0)}`)],
    ['Broker CPU, catch-up read (CPU s per GB)', both((a) => cpuPerGb(f.catchUp[a]))],
    [`CPU in use, catch-up read, broker / client / whole machine (cores of ${ncpu})`, both((a) => use(f.catchUp[a]))],
    ['Broker peak RSS, produce at max / catch-up read (MiB, sampled every 100 ms)', both((a) => `${mib(f.max[a].peakRssKiB)} / ${mib(f.catchUp[a].peakRssKiB)}`)],
  ];
  const problems: string[] = [];
  const phases: [string, CpuUse][] = [];
  for (const a of [1, -1] as const) {
    for (const [name, p] of [['fixed-rate produce', f.rate[a]], ['max produce', f.max[a]]] as const) {
      if (p.errors > 0) problems.push(`acks=${a} ${name}: ${p.errors} failed send() calls (first: ${p.firstError})`);
      phases.push([`acks=${a} ${name}`, p]);
    }
    for (const [name, c] of [['tail read', f.tail[a]], ['catch-up read', f.catchUp[a]]] as const) {
      if (c.timedOut || c.records !== c.expected) problems.push(`acks=${a} ${name}: ${c.records} of ${c.expected} records${c.timedOut ? ' (timed out)' : ''}`);
      phases.push([`acks=${a} ${name}`, c]);
    }
  }
  if (f.busyBefore > 0.25) problems.push(`${f.busyBefore.toFixed(2)} cores were busy before the benchmark started (other processes?)`);
  for (const [name, p] of phases) {
    // Kernel threads (writeback, loopback softirqs) account for a little; much more is someone else.
    const other = p.machineBusy * ncpu - (p.brokerCpuS + p.clientCpuS) / p.wallS;
    if (other > 0.35) problems.push(`${name}: ${other.toFixed(2)} cores were busy outside the broker and the clients (other processes?); its figures are disturbed`);
  }
  const cpus = os.cpus();
  return [
    `# Ledgerstream broker benchmark, ${f.stamp}`,
    '',
    `Code: ${f.revision}. Node ${process.version}, ${ncpu} × ${cpus[0]?.model.trim() ?? 'CPU'}, ` +
      `${fmt(os.totalmem() / 2 ** 30, 0)} GiB RAM; broker, clients and orchestrator share this machine.`,
    '',
    '| | acks=1 | acks=-1 |',
    '|---|---:|---:|',
    ...rows.map(([name, cells]) => `| ${name} | ${cells} |`),
    '',
    `Broker peak RSS over the process lifetime (VmHWM): ${mib(f.hwm1KiB)} MiB for the first broker process ` +
      `(warm-up, all produce phases, tail reads), ${mib(f.hwm2KiB)} MiB after the restart (catch-up reads).`,
    ...(problems.length > 0 ? ['', '## Problems', '', ...problems.map((p) => `- ${p}`)] : []),
    '',
    '## Setup',
    '',
    '- Broker: one `node dist/src/cli.js start` process with embedded defaults in a temp folder (WAL, SQLite ' +
      'coordinator and local-folder object store on the same disk; uploads every 250 ms or 8 MiB; in-memory tail ' +
      'and read cache 256 MiB each), plus the test helper\'s overrides (group rebalance delay 0, log level info) ' +
      'and a metrics port, scraped only between phases.',
    `- Records: ${s.recordBytes}-byte random values, no key, no compression; ${s.recordsPerSend} records ` +
      `(${fmt(sendKiB, 0)} KiB) per send() call, all to one partition (one batch per Produce request); topics of ` +
      `${s.partitions} partitions, send() calls rotate over them. MB = 10^6 bytes of record values (batch ` +
      'headers and framing not counted); CPU s per GB use the same bytes.',
    `- Max throughput: kafkajs ${KAFKAJS_VERSION} in ${s.workers} forked child process(es), ${s.producers} producers in total ` +
      `(each its own connection, not idempotent), ${s.inFlight} send() calls in flight per producer (closed loop, ` +
      `${concurrency} in all), for ${s.durationS} s or ${s.maxMb} MB per acks setting, whichever comes first (the ` +
      'cap keeps the topic inside the broker\'s 256 MiB tail for the tail read). Latency is per send() call, so at ' +
      'max throughput it includes client-side queueing behind the other in-flight sends; the broker-side mean ' +
      'excludes it.',
    `- Fixed rate: one producer in one child process, open loop (each send() is issued on schedule whether or ` +
      `not earlier ones returned), ${fmt(s.rate, 0)} records/s = ${fmt(s.rate / s.recordsPerSend, 0)} send() calls/s, ` +
      `for ${s.latencyDurationS} s.`,
    '- Consume: one kafkajs consumer (fresh group, fromBeginning, eachBatch, auto-commit on; kafkajs defaults: ' +
      '10 MiB per fetch, 1 MiB per partition) in a child process reads the whole max-throughput topic; time runs ' +
      'from the first batch to the last record (group join excluded). Tail reads follow right after producing; ' +
      'catch-up reads follow a graceful restart (SIGTERM), so the broker\'s tail and read cache are empty and every ' +
      'byte is a ranged GET on the local object folder (the OS page cache may still hold those files).',
    '- acks=1 and acks=-1: a single broker has no replicas, so both are answered after the WAL\'s group-committed ' +
      'fdatasync; the two columns differ by noise.',
    '- CPU: utime+stime of the broker from /proc/<pid>/stat over each phase; process.cpuUsage() of the clients over ' +
      'the same window; whole machine from /proc/stat (all processes and kernel threads). A client near 1.00 per ' +
      'process is saturated.',
  ].join('\n');
}

await main();
