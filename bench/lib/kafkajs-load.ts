/**
 * kafkajs load generators for benchmarks, each in a forked child process: kafkajs is CPU heavy
 * and must not share an event loop with the orchestrator, which stays idle and meters brokers.
 *
 * A job (produce: closed loop at max throughput or open loop at a fixed rate; consume: a group
 * consumer reading a topic from the beginning) travels in the child's environment; the child
 * connects, says "ready", waits for "go" so that all children start together, runs, and sends
 * its result (records, bytes, per-send() latencies, its own CPU) back over IPC.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { type MeterReading, ProcessMeter } from './proc-stats.js';

// ---------------------------------------------------------------------------------------------
// Messages between the orchestrator and the load-generator children

export interface ProduceJob {
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

export interface ConsumeJob {
  kind: 'consume';
  bootstrap: string;
  topic: string;
  expectedRecords: number;
  timeoutMs: number;
}

export type LoadJob = ProduceJob | ConsumeJob;
export type LoadResult = ProduceResult | ConsumeResult;

export interface ProduceResult {
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

export interface ConsumeResult {
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

type WorkerMessage = { kind: 'ready' } | LoadResult | { kind: 'error'; message: string };

// ---------------------------------------------------------------------------------------------
// Worker side (a forked child: this file run with --worker)

export function kafkaFor(bootstrap: string, clientId: string): Kafka {
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
  const job = JSON.parse(process.env.BENCH_JOB!) as LoadJob;
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

// ---------------------------------------------------------------------------------------------
// Orchestrator side

function spawnWorker(job: LoadJob): ChildProcess {
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

/**
 * Forks one child per job, waits until all are ready, runs `beforeGo` (e.g. a metrics scrape),
 * starts them together, and meters `pids` (the brokers) until the last result arrives.
 */
export async function runLoad<R extends LoadResult>(jobs: LoadJob[], pids: readonly number[],
  beforeGo: () => Promise<void> = async () => {}): Promise<{ results: R[]; meter: MeterReading }> {
  const children = jobs.map(spawnWorker);
  try {
    const ready = children.map(nextMessage);
    for (const r of await Promise.all(ready)) if (r.kind !== 'ready') throw new Error(`unexpected ${r.kind}`);
    await beforeGo();
    const results = children.map((c) => nextMessage(c) as Promise<R>);
    const meter = new ProcessMeter(pids);
    for (const c of children) c.send('go');
    const done = await Promise.all(results);
    const reading = meter.stop();
    await Promise.all(children.map((c) => new Promise((r) => c.exitCode !== null ? r(null) : c.once('exit', r))));
    return { results: done, meter: reading };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--worker')) {
  await workerMain();
}
