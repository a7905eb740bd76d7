/**
 * The failover benchmark's producers: three real clients, each on its own topic, each recording
 * when every record was acknowledged, and which, per partition. Each partition's records carry
 * its sequence number 0, 1, 2, ... as their value. librdkafka and the Java client run as child
 * processes printing "ack PARTITION EPOCH_MS SEQ" lines; kafkajs runs in this process.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { compileJava, javaAvailable, kafkaJars } from '../../test/helpers/kafka-tools.js';

export type ClientName = 'librdkafka' | 'java' | 'kafkajs';
export const CLIENT_NAMES: ClientName[] = ['librdkafka', 'java', 'kafkajs'];

const HERE = import.meta.dirname;
const PYTHON = process.env['LEDGERSTREAM_PYTHON'] ?? '/usr/bin/python3';
const JAVA = process.env['LEDGERSTREAM_JAVA'] ?? 'java';
/**
 * Where to keep every log line for a per-kill timeline (unset: none kept): the brokers' logs and
 * the clients' own debug logs (librdkafka debug=broker,topic,metadata,msg; the Java client's
 * Metadata, Sender and NetworkClient at DEBUG), one file each. Slows the clients a little.
 */
export const DEBUG_DIR = process.env['BENCH_FAILOVER_DEBUG_DIR'];

/** Appends to `name` in DEBUG_DIR, if set. */
export function keepDebugLog(name: string, chunk: Buffer | string): void {
  if (DEBUG_DIR !== undefined) appendFileSync(path.join(DEBUG_DIR, name), chunk);
}

/** A log4j2 configuration with the producer's metadata and send path at DEBUG, in DEBUG_DIR. */
function javaDebugLog4j(dir: string): string {
  const file = path.join(dir, 'java-log4j2.properties');
  writeFileSync(file, ['status = error', 'appender.stderr.type = Console',
    'appender.stderr.name = STDERR', 'appender.stderr.target = SYSTEM_ERR',
    'appender.stderr.layout.type = PatternLayout',
    'appender.stderr.layout.pattern = [%d{ISO8601}{UTC}] %p %m (%c)%n', 'rootLogger.level = warn',
    'rootLogger.appenderRef.stderr.ref = STDERR',
    ...['org.apache.kafka.clients.Metadata', 'org.apache.kafka.clients.producer.internals.Sender',
      'org.apache.kafka.clients.NetworkClient'].flatMap((name, i) =>
      [`logger.d${i}.name = ${name}`, `logger.d${i}.level = debug`]), ''].join('\n'));
  return file;
}

/** Acknowledgement times and the records acknowledged, per partition, in order; and failures. */
export class AckLog {
  readonly acks: number[][];
  /** The sequence numbers (record values) acknowledged, per partition. */
  readonly ackedSeqs: number[][];
  failures = 0;
  readonly failureKinds = new Map<string, number>();
  constructor(readonly client: ClientName, readonly topic: string, partitions: number) {
    this.acks = Array.from({ length: partitions }, () => []);
    this.ackedSeqs = Array.from({ length: partitions }, () => []);
  }

  ack(partition: number, atMs: number, seq: number): void {
    if (!Number.isSafeInteger(partition) || this.acks[partition] === undefined || !Number.isSafeInteger(seq)) {
      throw new Error(`${this.client}: malformed acknowledgement (partition ${partition}, seq ${seq})`);
    }
    this.acks[partition]!.push(atMs);
    this.ackedSeqs[partition]!.push(seq);
  }


  fail(kind: string): void {
    this.failures++;
    this.failureKinds.set(kind, (this.failureKinds.get(kind) ?? 0) + 1);
  }

  /**
   * The longest time without an acknowledgement on `partition` over [fromMs, toMs): gaps
   * between consecutive acks that overlap the window, and the open gap at its end.
   */
  longestGap(partition: number, fromMs: number, toMs: number): { gapMs: number; fromMs: number } {
    const times = this.acks[partition]!;
    let best = { gapMs: 0, fromMs };
    let prev = -Infinity;
    for (const t of times) {
      if (t >= fromMs && prev > -Infinity && t - prev > best.gapMs && prev < toMs) best = { gapMs: t - prev, fromMs: prev };
      if (t >= toMs) return best;
      prev = t;
    }
    if (prev > -Infinity && toMs - prev > best.gapMs) best = { gapMs: toMs - prev, fromMs: prev };
    return best;
  }

  /** The first acknowledgement on `partition` at or after `atMs`, or null. */
  firstAckAfter(partition: number, atMs: number): number | null {
    const times = this.acks[partition]!;
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! < atMs) lo = mid + 1;
      else hi = mid;
    }
    return lo < times.length ? times[lo]! : null;
  }

  total(): number {
    return this.acks.reduce((n, a) => n + a.length, 0);
  }
}

export interface RunningClient {
  log: AckLog;
  stop(): Promise<void>;
}

/**
 * Runs a client as a child process that prints one line per event, and feeds each line to
 * `onLine`. Stopping closes its standard input (the clients exit on that), then kills it.
 */
export function spawnLineClient(label: string, command: string, args: string[],
  onLine: (fields: string[]) => void): { stop(): Promise<void> } {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
    keepDebugLog(`${label.replaceAll(' ', '-')}.log`, c);
  });
  let rest = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) onLine(line.split(' '));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${label} exited ${code}: ${stderr}\n`);
  });
  return { stop: async () => {
    child.stdin!.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
    child.kill('SIGKILL');
  } };
}

/** The command line that runs one of this folder's Java clients (compiled on first use). */
export async function javaCommand(mainClass: string, args: string[]): Promise<[string, string[]]> {
  const classes = await compileJava([path.join(HERE, `${mainClass}.java`),
    path.join(HERE, 'StdinClosed.java')]);
  const jars = await kafkaJars();
  const log4j = DEBUG_DIR === undefined ? jars.toolsLog4j : javaDebugLog4j(DEBUG_DIR);
  return [JAVA, ['-Xmx256m', `-Dlog4j2.configurationFile=${log4j}`,
    '-cp', [path.join(jars.libs, '*'), classes].join(path.delimiter), mainClass, ...args]];
}

/** The command line that runs one of this folder's Python (librdkafka) clients. */
export function pythonCommand(script: string, args: string[]): [string, string[]] {
  return [PYTHON, [path.join(HERE, script), ...args]];
}

function childClient(log: AckLog, [command, args]: [string, string[]]): RunningClient {
  const child = spawnLineClient(`${log.client} producer`, command, args, ([kind, p, t, last]) => {
    if (kind === 'ack') log.ack(Number(p), Number(t), Number(last));
    else if (kind === 'fail') log.fail(last ?? 'unknown');
  });
  return { log, stop: () => child.stop() };
}

function kafkajsClient(log: AckLog, bootstrap: string[], partitions: number, ratePerPartition: number): RunningClient {
  // kafkajs's defaults (retries 5 from 300 ms), as a user runs it.
  const producer = new Kafka({ clientId: 'failover-bench', brokers: bootstrap, logLevel: logLevel.NOTHING })
    .producer({ idempotent: true });
  let stopped = false;
  const intervalMs = 1000 / ratePerPartition;
  const loop = async (partition: number) => {
    let next = performance.now();
    for (let seq = 0; !stopped; seq++) {
      await producer.send({ topic: log.topic, acks: -1, messages: [{ partition, value: String(seq) }] })
        .then((results) => {
          // kafkajs can resolve a send with no result and nothing sent (see UnacknowledgedSend
          // in test/cluster/chaos.ts): not an acknowledgement.
          const ok = results.some((r) => r.partition === partition && Number(r.baseOffset) >= 0);
          if (ok) log.ack(partition, Date.now(), seq);
          else log.fail('resolved without an offset');
        }, (err: { type?: string; name?: string }) => log.fail(err.type ?? err.name ?? 'error'));
      next += intervalMs;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  };
  const loops = producer.connect().then(() => Promise.all(Array.from({ length: partitions }, (_, p) => loop(p))));
  return { log, stop: async () => { stopped = true; await loops.catch(() => {}); await producer.disconnect(); } };
}

export async function startClient(name: ClientName, bootstrap: string[], topic: string, partitions: number,
  ratePerPartition: number): Promise<RunningClient> {
  const log = new AckLog(name, topic, partitions);
  const args = [bootstrap.join(','), topic, String(partitions), String(ratePerPartition)];
  if (name === 'librdkafka') return childClient(log, pythonCommand('producer.py', args));
  if (name === 'java') return childClient(log, await javaCommand('FailoverProducer', args));
  return kafkajsClient(log, bootstrap, partitions, ratePerPartition);
}

/** The clients this machine can run (java and python3 with confluent-kafka installed). */
export function availableClients(): ClientName[] {
  return CLIENT_NAMES.filter((c) => c === 'kafkajs' || (c === 'java' ? javaAvailable() : true));
}
