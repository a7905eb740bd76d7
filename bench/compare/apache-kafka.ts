/**
 * A real Apache Kafka broker on loopback, for side-by-side benchmarks: KRaft single node
 * (process.roles=broker,controller), from the jars bench/kafka/fetch-kafka.sh copies out of Maven
 * Central. Formats a fresh log folder, starts `kafka.Kafka` on two free ports (client and
 * controller listeners; a third for an optional SSL listener from PEM files), waits for "Kafka
 * Server started", and stops it with SIGTERM (a clean shutdown, as kafka-server-stop.sh does).
 * Nothing is downloaded except through Maven.
 *
 * JVM flags are those of Kafka's bin/kafka-server-start.sh and kafka-run-class.sh (1 GiB heap,
 * G1 with 20 ms pause target), so the broker measured is the one a user gets by default.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { kafkaJars, runKafkaTool, describeRun } from '../../test/helpers/kafka-tools.js';
import { freePort } from '../../test/helpers/ports.js';

const JAVA = process.env.LEDGERSTREAM_JAVA ?? 'java';
const STARTUP_MS_MAX = 90_000;
const STOP_MS_MAX = 60_000;
const OUTPUT_CHARS_MAX = 64 * 1024;

/** kafka-server-start.sh: KAFKA_HEAP_OPTS and KAFKA_JVM_PERFORMANCE_OPTS defaults. */
export const KAFKA_SERVER_JVM_FLAGS = ['-Xmx1G', '-Xms1G', '-server', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
  '-XX:InitiatingHeapOccupancyPercent=35', '-XX:+ExplicitGCInvokesConcurrent', '-XX:MaxInlineLevel=15',
  '-Djava.awt.headless=true'];

export interface ApacheKafka {
  version: string;
  bootstrap: string;
  /** The SSL listener's host:port, when started with one. */
  sslBootstrap?: string;
  /** OS process id of the running JVM (changes on restart). */
  readonly pid: number;
  /** Clean stop (SIGTERM), then start again on the same ports and log folder. */
  restart(): Promise<void>;
  /** Clean stop and delete the log folder. */
  destroy(): Promise<void>;
  /** The broker's stdout/stderr, last 64 KiB. */
  output(): string;
}

/** Kafka's cluster ids are 16 random bytes in URL-safe base64 without padding (Uuid.toString). */
function kafkaClusterId(): string {
  return Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
}

/** PEM files of an SSL listener, in Kafka's PEM keystore form (key and certificate in one file). */
export interface KafkaSslFiles {
  keystorePem: string;
  truststorePem: string;
}

/** server.properties lines of an SSL listener beside PLAINTEXT (Kafka's PEM stores, KIP-651). */
function sslListenerLines(ssl: KafkaSslFiles): string[] {
  return ['ssl.keystore.type=PEM', `ssl.keystore.location=${ssl.keystorePem}`,
    'ssl.truststore.type=PEM', `ssl.truststore.location=${ssl.truststorePem}`];
}

export async function startApacheKafka(workDir: string, ssl?: KafkaSslFiles): Promise<ApacheKafka> {
  const jars = await kafkaJars();
  const port = await freePort();
  const controllerPort = await freePort();
  const sslPort = ssl ? await freePort() : undefined;
  const sslListener = sslPort === undefined ? '' : `,SSL://127.0.0.1:${sslPort}`;
  const logDir = path.join(workDir, 'kafka-logs');
  const config = path.join(workDir, 'server.properties');
  await mkdir(logDir, { recursive: true });
  await writeFile(config, [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${port}${sslListener},` +
      `CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}${sslListener}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT' +
      (ssl ? ',SSL:SSL' : ''),
    ...(ssl ? sslListenerLines(ssl) : []),
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${logDir}`,
    // One node: internal topics cannot have more replicas than brokers (as config/server.properties).
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    // Ledgerstream's benchmark brokers run with 0 too; Kafka's 3 s default only delays the first join.
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n'));
  const format = await runKafkaTool('storage', ['format', '-t', kafkaClusterId(), '-c', config], { timeoutMs: 60_000 });
  if (format.code !== 0) throw new Error(`formatting Kafka's log folder failed:\n${describeRun(format)}`);

  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<void> = Promise.resolve();
  const launch = async () => {
    const proc = spawn(JAVA, [...KAFKA_SERVER_JVM_FLAGS, `-Dlog4j2.configurationFile=${jars.serverLog4j}`,
      `-Dkafka.logs.dir=${path.join(workDir, 'server-logs')}`, '-cp', path.join(jars.libs, '*'),
      jars.toolClass('server'), config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Kafka did not start in ${STARTUP_MS_MAX} ms:\n${output}`)), STARTUP_MS_MAX);
      const keep = (b: Buffer) => {
        output = (output + b.toString()).slice(-OUTPUT_CHARS_MAX);
        if (output.includes('Kafka Server started')) { clearTimeout(timer); resolve(); }
      };
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Kafka exited ${code} while starting:\n${output}`)); });
    });
  };
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child?.kill('SIGKILL'), STOP_MS_MAX);
    await exited;
    clearTimeout(timer);
  };
  await launch();
  return {
    version: jars.version,
    bootstrap: `127.0.0.1:${port}`,
    ...(sslPort === undefined ? {} : { sslBootstrap: `127.0.0.1:${sslPort}` }),
    get pid() { return child!.pid!; },
    async restart() {
      await stop();
      output = '';
      await launch();
    },
    async destroy() {
      await stop();
      await rm(workDir, { recursive: true, force: true });
    },
    output: () => output,
  };
}
