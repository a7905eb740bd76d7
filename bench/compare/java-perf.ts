/**
 * Apache Kafka's own load tools, run against any Kafka-protocol broker as the neutral load
 * generator: ProducerPerformance (kafka-producer-perf-test.sh), ConsumerPerformance
 * (kafka-consumer-perf-test.sh) and EndToEndLatency (kafka-e2e-latency.sh), from the tools jar.
 * Each runs in its own JVM with the flags Kafka's scripts give perf tools; its summary line is
 * parsed into numbers, and a run that did not finish its records is an error naming the tool.
 *
 * Units: the tools print MB as 2^20 bytes; here every MB is 10^6 bytes of record values,
 * computed from record counts, so Kafka's and Ledgerstream's figures use the same bytes.
 */
import { describeRun, kafkaJars, type RunResult, runJava } from '../../test/helpers/kafka-tools.js';

/** kafka-producer-perf-test.sh: KAFKA_HEAP_OPTS=-Xmx512M, plus kafka-run-class.sh's performance opts. */
const PERF_TOOL_JVM_FLAGS = ['-Xmx512M', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent', '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true'];
const TOOL_MS_MAX = 5 * 60_000;

/**
 * A load tool's JVM (Kafka's, or one of the bench's own classes on `classpath`); throws unless
 * it exits 0.
 */
export async function runTool(mainClass: string, args: string[], classpath: string[] = []):
  Promise<RunResult> {
  const r = await runJava(mainClass, args,
    { jvmFlags: PERF_TOOL_JVM_FLAGS, timeoutMs: TOOL_MS_MAX, classpath });
  if (r.code !== 0) throw new Error(describeRun(r));
  return r;
}

/**
 * How a tool reaches the broker: host:port, and for a secured listener the client properties
 * file (security.protocol, truststore), passed as the tools' --command-config.
 */
export interface Connection {
  bootstrap: string;
  clientConfig?: string;
}

const configArgs = (c: Connection): string[] =>
  (c.clientConfig === undefined ? [] : ['--command-config', c.clientConfig]);

export interface ProducerPerfOptions extends Connection {
  topic: string;
  records: number;
  recordBytes: number;
  /** Records per second; -1 for as fast as possible. */
  throughput: number;
  acks: '1' | 'all';
}

export interface ProducerPerfResult {
  records: number;
  recordsPerS: number;
  /** 10^6 bytes of record values per second. */
  mbPerS: number;
  /** Per record, from send() to its acknowledgement (ms; the tool's percentiles are whole ms). */
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

// "200000 records sent, 32695.765898 records/sec (31.93 MB/sec), 778.50 ms avg latency,
//  1321.00 ms max latency, 721 ms 50th, 1249 ms 95th, 1282 ms 99th, 1307 ms 99.9th."
const PRODUCER_SUMMARY = /(\d+) records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th/;

/** ProducerPerformance with the Java producer's defaults except acks (idempotent when acks=all). */
export async function producerPerformance(o: ProducerPerfOptions): Promise<ProducerPerfResult> {
  const r = await runTool('org.apache.kafka.tools.ProducerPerformance', ['--topic', o.topic,
    '--num-records', String(o.records), '--record-size', String(o.recordBytes), '--throughput', String(o.throughput),
    ...configArgs(o), '--producer-props', `bootstrap.servers=${o.bootstrap}`, `acks=${o.acks}`]);
  const m = PRODUCER_SUMMARY.exec(r.stdout);
  if (!m) throw new Error(`ProducerPerformance printed no summary:\n${describeRun(r)}`);
  const records = Number(m[1]);
  if (records !== o.records) throw new Error(`ProducerPerformance sent ${records} of ${o.records} records:\n${describeRun(r)}`);
  const recordsPerS = Number(m[2]);
  return { records, recordsPerS, mbPerS: (recordsPerS * o.recordBytes) / 1e6, avgMs: Number(m[3]),
    maxMs: Number(m[4]), p50Ms: Number(m[5]), p99Ms: Number(m[6]), p999Ms: Number(m[7]) };
}

export interface ConsumerPerfResult {
  records: number;
  /** Fetch phase only: from the first record to the last, group join excluded (the tool's fetch.*). */
  recordsPerS: number;
  mbPerS: number;
  /** Group join and first assignment (the tool's rebalance.time.ms). */
  joinMs: number;
}

/** ConsumerPerformance: a fresh group reads `records` records of the topic from the beginning. */
export async function consumerPerformance(connection: Connection, topic: string, records: number,
  recordBytes: number, group: string): Promise<ConsumerPerfResult> {
  const r = await runTool('org.apache.kafka.tools.ConsumerPerformance',
    ['--bootstrap-server', connection.bootstrap, ...configArgs(connection), '--topic', topic,
      '--num-records', String(records), '--group', group, '--timeout', '60000']);
  if (/Exiting before consuming the expected number/.test(r.stdout + r.stderr)) {
    throw new Error(`ConsumerPerformance timed out before ${records} records:\n${describeRun(r)}`);
  }
  // Header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
  //         rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const lines = r.stdout.trim().split('\n');
  const header = lines.findIndex((l) => l.startsWith('start.time'));
  const fields = header >= 0 ? lines[header + 1]?.split(',').map((f) => f.trim()) : undefined;
  if (!fields || fields.length < 10) throw new Error(`ConsumerPerformance printed no summary:\n${describeRun(r)}`);
  const consumed = Number(fields[4]);
  if (consumed < records) throw new Error(`ConsumerPerformance read ${consumed} of ${records} records:\n${describeRun(r)}`);
  const recordsPerS = Number(fields[9]);
  return { records: consumed, recordsPerS, mbPerS: (recordsPerS * recordBytes) / 1e6, joinMs: Number(fields[6]) };
}

export interface EndToEndResult {
  records: number;
  avgMs: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

/**
 * EndToEndLatency: one record at a time, produced (acks=all) and consumed by a consumer that
 * polls the same single-partition topic; the time from send() to that record's arrival.
 */
export async function endToEndLatency(bootstrap: string, topic: string, records: number, recordBytes: number):
  Promise<EndToEndResult> {
  const r = await runTool('org.apache.kafka.tools.EndToEndLatency', ['--bootstrap-server', bootstrap,
    '--topic', topic, '--num-records', String(records), '--producer-acks', 'all', '--record-size', String(recordBytes)]);
  const avg = /Avg latency: ([\d.]+) ms/.exec(r.stdout);
  const pct = /Percentiles: 50th = (\d+), 99th = (\d+), 99\.9th = (\d+)/.exec(r.stdout);
  if (!avg || !pct) throw new Error(`EndToEndLatency printed no summary:\n${describeRun(r)}`);
  return { records, avgMs: Number(avg[1]), p50Ms: Number(pct[1]), p99Ms: Number(pct[2]), p999Ms: Number(pct[3]) };
}

/** The Kafka version whose tools (and broker) are measured. */
export async function kafkaToolsVersion(): Promise<string> {
  return (await kafkaJars()).version;
}
