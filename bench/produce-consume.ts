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
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { type BrokerProcess, startBroker } from '../test/helpers/broker-process.js';

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

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
}

function envName(name: string): string {
  return `BENCH_${kebab(name).replace(/-/g, '_').toUpperCase()}`;
}

function loadSettings(argv: string[]): Settings {
  const options: Record<string, { type: 'string' | 'boolean' }> = { 'cpu-prof': { type: 'boolean' } };
  for (const name of Object.keys(NUMERIC)) options[kebab(name)] = { type: 'string' };
  const { values } = parseArgs({ args: argv, options, strict: true });
  const out = { cpuProf: values['cpu-prof'] === true || ['1', 'true'].includes(process.env.BENCH_CPU_PROF ?? '') } as Settings;
  for (const [name, fallback] of Object.entries(NUMERIC) as [keyof typeof NUMERIC, number][]) {
    const raw = (values[kebab(name)] as string | undefined) ?? process.env[envName(name)];
    const value = raw === undefined ? fallback : Number(raw);
    const integer = INTEGER.has(name);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new Error(`--${kebab(name)} (${envName(name)}): expected a positive ${integer ? 'integer' : 'number'}, got ${raw}`);
    }
    out[name] = value;
  }
  out.workers = Math.min(out.workers, out.producers);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Messages between the orchestrator and the load-generator children

interface ProduceJob {
  kind: 'produce';
  bootstrap: string;
  topic: string;
  partitions: number;
  acks: 1 | -1;
  producers: number;
  /** Closed loop: concurrent send() calls per producer. */
  inFlight: number;
  /** Open loop: send() calls are issued at this rate regardless of completions (null: closed loop). */
  ratePerS: number | null;
  recordsPerSend: number;
  recordBytes: number;
  durationMs: number;
  bytesMax: number;
  /** Spreads the producers of different workers over different partitions. */
  firstPartition: number;
}

interface ConsumeJob {
  kind: 'consume';
  bootstrap: string;
  topic: string;
  expectedRecords: number;
  timeoutMs: number;
}

type Job = ProduceJob | ConsumeJob;

interface ProduceResult {
  kind: 'produce-result';
  records: number;
  bytes: number;
  sends: number;
  errors: number;
  elapsedMs: number;
  /** Per send(): milliseconds from the call to its resolution. */
  latenciesMs: Float64Array;
  firstError: string | null;
  /** This child's own CPU time (user + system) over the measured window. */
  cpuS: number;
}

interface ConsumeResult {
  kind: 'consume-result';
  records: number;
  bytes: number;
  /** From the first batch handed to eachBatch to the last expected record. */
  elapsedMs: number;
  /** From consumer.run() to the first batch: group join, sync, first fetch. */
  startupMs: number;
  timedOut: boolean;
  cpuS: number;
}

type WorkerMessage = { kind: 'ready' } | ProduceResult | ConsumeResult | { kind: 'error'; message: string };

// ---------------------------------------------------------------------------------------------
// Worker side (a forked child: `produce-consume.ts --worker`)

function kafkaFor(bootstrap: string, clientId: string): Kafka {
  return new Kafka({
    clientId, brokers: [bootstrap], logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
  });
}

async function workerMain(): Promise<void> {
  process.on('disconnect', () => process.exit(0)); // the orchestrator died
  const send = (m: WorkerMessage) => new Promise<void>((resolve) => process.send!(m, undefined, {}, () => resolve()));
  // The job comes in the environment, so no message can arrive before a listener exists; the
  // only message is "go", and its listener is attached before "ready" is sent.
  const job = JSON.parse(process.env.BENCH_JOB!) as Job;
  const goReceived = new Promise<void>((resolve) => process.once('message', () => resolve()));
  const go = () => goReceived;
  try {
    if (job.kind === 'produce') await runProduce(job, send, go);
    else await runConsume(job, send, go);
  } catch (err) {
    await send({ kind: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
  }
  process.disconnect();
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

type Send = (m: WorkerMessage) => Promise<void>;

async function runProduce(job: ProduceJob, send: Send, go: () => Promise<void>):
  Promise<void> {
  const kafka = kafkaFor(job.bootstrap, `bench-producer-${process.pid}`);
  const value = randomBytes(job.recordBytes);
  const producers = await Promise.all(Array.from({ length: job.producers }, async () => {
    // Not idempotent: kafkajs allows only one request in flight per idempotent producer.
    const p = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
    await p.connect();
    return p;
  }));
  const messagesFor = (partition: number) =>
    Array.from({ length: job.recordsPerSend }, () => ({ partition, value }));
  // One send per producer before the clock starts: connections and topic metadata are ready.
  await Promise.all(producers.map((p, i) =>
    p.send({ topic: job.topic, acks: job.acks, messages: messagesFor((job.firstPartition + i) % job.partitions) })));

  const sendBytes = job.recordsPerSend * job.recordBytes;
  const latencies: number[] = [];
  let records = 0;
  let sends = 0;
  let errors = 0;
  let firstError: string | null = null;
  let budget = job.bytesMax;
  let nextPartition = job.firstPartition;
  const oneSend = async (producer: (typeof producers)[number]) => {
    const partition = nextPartition++ % job.partitions;
    const t0 = performance.now();
    try {
      await producer.send({ topic: job.topic, acks: job.acks, messages: messagesFor(partition) });
      latencies.push(performance.now() - t0);
      records += job.recordsPerSend;
      sends++;
    } catch (err) {
      errors++;
      firstError ??= err instanceof Error ? err.message : String(err);
    }
  };

  await send({ kind: 'ready' });
  await go();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + job.durationMs;
  if (job.ratePerS === null) {
    const loop = async (producer: (typeof producers)[number]) => {
      while (performance.now() < deadline && budget >= sendBytes) {
        budget -= sendBytes;
        await oneSend(producer);
      }
    };
    await Promise.all(producers.flatMap((p) => Array.from({ length: job.inFlight }, () => loop(p))));
  } else {
    // Open loop: the n-th send is due at start + n / rate, whether or not earlier ones returned,
    // so a slow response shows up as latency instead of silently lowering the rate.
    const intervalMs = 1000 / job.ratePerS;
    const pending = new Set<Promise<void>>();
    for (let n = 0; ; n++) {
      const due = start + n * intervalMs;
      if (due >= deadline || budget < sendBytes) break;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      budget -= sendBytes;
      const s = oneSend(producers[n % producers.length]!).finally(() => pending.delete(s));
      pending.add(s);
    }
    await Promise.all(pending);
  }
  const elapsedMs = performance.now() - start;
  await send({ kind: 'produce-result', records, bytes: records * job.recordBytes, sends, errors, elapsedMs,
    latenciesMs: Float64Array.from(latencies), firstError, cpuS: cpuSince(cpu0) });
  await Promise.all(producers.map((p) => p.disconnect()));
}

async function runConsume(job: ConsumeJob, send: Send, go: () => Promise<void>): Promise<void> {
  const kafka = kafkaFor(job.bootstrap, `bench-consumer-${process.pid}`);
  // kafkajs defaults otherwise: maxBytes 10 MiB per fetch, maxBytesPerPartition 1 MiB,
  // maxWaitTimeInMs 5000, one partition processed at a time.
  const consumer = kafka.consumer({ groupId: `bench-${job.topic}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: job.topic, fromBeginning: true });
  let records = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  await send({ kind: 'ready' });
  await go();
  const cpu0 = process.cpuUsage();
  const runAt = performance.now();
  await consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = performance.now();
      for (const m of batch.messages) bytes += m.value?.length ?? 0;
      records += batch.messages.length;
      if (records >= job.expectedRecords && last === 0) {
        last = performance.now();
        resolveDone();
      }
    },
  });
  const timer = setTimeout(resolveDone, job.timeoutMs);
  await done;
  clearTimeout(timer);
  const timedOut = last === 0;
  if (timedOut) last = performance.now();
  await send({ kind: 'consume-result', records, bytes, elapsedMs: last - (first || last), startupMs: (first || last) - runAt,
    timedOut, cpuS: cpuSince(cpu0) });
  await consumer.disconnect();
}

// ---------------------------------------------------------------------------------------------
// Orchestrator side: process sampling

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process, in seconds (0 if it is gone). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: [0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** A /proc/<pid>/status field in KiB (VmRSS, VmHWM), or 0. */
function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is inside user
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Samples the broker's RSS every 100 ms over a phase; its CPU time is read at both ends. */
class PhaseMeter {
  private readonly cpu0: number;
  private readonly machine0 = machineJiffies();
  private readonly t0 = performance.now();
  private peakRssKiB: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.cpu0 = cpuSeconds(pid);
    this.peakRssKiB = statusKiB(pid, 'VmRSS');
    this.timer = setInterval(() => { this.peakRssKiB = Math.max(this.peakRssKiB, statusKiB(pid, 'VmRSS')); }, 100);
  }

  stop(): { wallS: number; brokerCpuS: number; peakRssKiB: number; machineBusy: number } {
    clearInterval(this.timer);
    this.peakRssKiB = Math.max(this.peakRssKiB, statusKiB(this.pid, 'VmRSS'));
    const m = machineJiffies();
    return { wallS: (performance.now() - this.t0) / 1000, brokerCpuS: cpuSeconds(this.pid) - this.cpu0,
      peakRssKiB: this.peakRssKiB, machineBusy: (m.busy - this.machine0.busy) / (m.total - this.machine0.total) };
  }
}

// ---------------------------------------------------------------------------------------------
// Orchestrator side: broker metrics (Prometheus text) — only to check where reads came from

type Scrape = Map<string, number>;

async function scrape(metricsPort: number): Promise<Scrape> {
  const out: Scrape = new Map();
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    for (const line of (await res.text()).split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const i = line.lastIndexOf(' ');
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
  } catch {
    // metrics are informative only
  }
  return out;
}

function delta(after: Scrape, before: Scrape, key: string): number {
  return (after.get(key) ?? 0) - (before.get(key) ?? 0);
}

const FETCHED_ANY = 'ledgerstream_fetched_bytes_total{source="any"}';
const FETCHED_OBJECTS = 'ledgerstream_fetched_bytes_total{source="object-store"}';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator side: running jobs in children

function spawnWorker(job: Job): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', BENCH_JOB: JSON.stringify(job) };
  delete env.NODE_OPTIONS; // never profile the clients
  return fork(fileURLToPath(import.meta.url), ['--worker'], { execArgv: process.execArgv, env,
    serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function nextMessage(child: ChildProcess): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`load generator exited ${code} early`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      const msg = m as WorkerMessage;
      if (msg.kind === 'error') reject(new Error(`load generator failed: ${msg.message}`));
      else resolve(msg);
    });
  });
}

interface PhaseRun<R> {
  results: R[];
  meter: ReturnType<PhaseMeter['stop']>;
  before: Scrape;
  after: Scrape;
}

/** Forks one child per job, waits until all are ready, starts them together, meters the broker. */
async function runPhase<R extends WorkerMessage>(broker: BrokerProcess, metricsPort: number, jobs: Job[]):
  Promise<PhaseRun<R>> {
  const children = jobs.map(spawnWorker);
  try {
    const ready = children.map(nextMessage);
    for (const r of await Promise.all(ready)) if (r.kind !== 'ready') throw new Error(`unexpected ${r.kind}`);
    const before = await scrape(metricsPort);
    const results = children.map((c) => nextMessage(c) as Promise<R>);
    const meter = new PhaseMeter(broker.pid!);
    for (const c of children) c.send('go');
    const done = await Promise.all(results);
    const measured = meter.stop();
    const after = await scrape(metricsPort);
    await Promise.all(children.map((c) => new Promise((r) => c.exitCode !== null ? r(null) : c.once('exit', r))));
    return { results: done, meter: measured, before, after };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }
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

function sumMatching(run: PhaseRun<WorkerMessage>, pattern: RegExp): number {
  let total = 0;
  for (const key of run.after.keys()) if (pattern.test(key)) total += delta(run.after, run.before, key);
  return total;
}

/** Mean of a Prometheus histogram (in seconds) over a phase, in ms. */
function meanMs(run: PhaseRun<WorkerMessage>, name: string, labels: string): number {
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
    brokerCpuS: run.meter.brokerCpuS,
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
    timedOut: r.timedOut, wallS: run.meter.wallS, brokerCpuS: run.meter.brokerCpuS, clientCpuS: r.cpuS, machineBusy: run.meter.machineBusy,
    peakRssKiB: run.meter.peakRssKiB, objectStoreShare: any > 0 ? delta(run.after, run.before, FETCHED_OBJECTS) / any : NaN,
    objectGets: gets, fetches: sumMatching(run, /^ledgerstream_requests_total\{api="Fetch"/),
    offsetCommits: sumMatching(run, /^ledgerstream_requests_total\{api="OffsetCommit"/) };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary (--cpu-prof)

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) return file.slice(nm + '/node_modules/'.length);
  return file.startsWith(process.cwd()) ? path.relative(process.cwd(), file) : file;
}

function area(url: string, fn: string): string {
  if (url === '') return fn.startsWith('(') ? fn : '(native/builtin)';
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/').replace(/^node:internal\//, 'node:');
  const short = shortUrl(url);
  if (url.includes('/node_modules/')) return `npm:${short.split('/')[short.startsWith('@') ? 1 : 0]}`;
  return short.split('/').slice(0, 3).join('/');
}

/** A preload that samples the process's CPU like --cpu-prof (1 ms) and writes CPU.<pid>.cpuprofile at exit. */
function cpuProfPreload(dir: string): string {
  return `'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 1000 });
session.post('Profiler.start');
process.once('exit', () => {
  // An in-thread session answers synchronously, so this completes inside the exit handler.
  session.post('Profiler.stop', (err, res) => {
    if (!err) writeFileSync(${JSON.stringify(dir)} + '/CPU.' + process.pid + '.cpuprofile', JSON.stringify(res.profile));
  });
});
`;
}

async function summarizeProfile(file: string, top = 15): Promise<string> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const name = `${functionName || '(anonymous)'}${url ? ` ${shortUrl(url)}:${lineNumber + 1}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
  const lines = [`Busy time (excluding idle): ${(total / 1e6).toFixed(1)} s`, '', '| self | function |', '|---:|---|'];
  for (const [name, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`| ${pct(us)} | \`${name}\` |`);
  lines.push('', '| self | area |', '|---:|---|');
  for (const [name, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`| ${pct(us)} | ${name} |`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

function fmt(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits);
}

/** The code measured: BENCH_REVISION if set, else the checkout's commit and whether broker code differs from it. */
function revision(): string {
  if (process.env.BENCH_REVISION) return process.env.BENCH_REVISION;
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: HERE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git('rev-parse', '--short', 'HEAD');
    const dirty = git('status', '--porcelain', '--', '../src', '../storage', '../protocol') !== '';
    return dirty ? `${commit} with uncommitted changes in src/, storage/ or protocol/` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
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

if (process.argv.includes('--worker')) {
  await workerMain();
} else {
  await main();
}
