/**
 * `npm run test:compose`: runs the compose stacks for real and checks them from the host. Needs a
 * docker engine, Compose v2 and kcat; it is not part of `npm test` (CI has no docker engine).
 *
 * 1. docker-compose.single.yml (MinIO + one broker) with the broker published on a free host
 *    port other than 9092: the broker must advertise that port (kcat -L), kcat produces and
 *    consumes, kafkajs does a round trip with a consumer group, /ready and /metrics answer.
 * 2. docker-compose.yml (etcd, MinIO, three brokers, shared WAL): records go to every partition
 *    of a 3-partition topic, the container of a broker leading a partition is SIGKILLed
 *    (`docker compose kill`), its partitions must move to the two live brokers, every record
 *    produced before the kill must still be read, and produce must work on every partition.
 * Each stack runs under its own project name on free ports and is torn down (down -v) at the end,
 * whatever happened; on a failure the last log lines of each service are printed first.
 * Images missing locally are built first with scripts/docker/build-images.sh.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { freePort } from '../test/helpers/ports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const checkLimits = {
  /** `up --wait`: images start in seconds, brokers wait for MinIO/etcd health first. */
  upMsMax: 180_000,
  /** Lease TTL (6 s in docker-compose.yml) plus the controller's reassignment, with margin. */
  failoverMsMax: 60_000,
  pollIntervalMs: 500,
  commandMsMax: 60_000,
} as const;
const images = ['ledgerstream:local', 'ledgerstream/minio:local', 'ledgerstream/etcd:local'];

let passed = 0;
function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`);
  passed++;
  console.log(`  ok  ${what}`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): string {
  const r = spawnSync(cmd, args, {
    cwd: root, env: { ...process.env, ...env }, input, encoding: 'utf8',
    timeout: cmd === 'docker' ? checkLimits.upMsMax : checkLimits.commandMsMax,
  });
  if (r.status !== 0) {
    const output = `${r.stdout}${r.stderr}`;
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${output}`);
  }
  return r.stdout;
}

interface Stack {
  project: string;
  file: string;
  env: Record<string, string>;
}

function compose(stack: Stack, args: string[]): string {
  return run('docker', ['compose', '-p', stack.project, '-f', stack.file, ...args], stack.env);
}

function preflight(): void {
  const version = run('docker', ['compose', 'version', '--short']).trim();
  if (!version.startsWith('2.') && !version.startsWith('v2.')) {
    throw new Error(`Compose v2 needed, found ${version}: bash scripts/docker/install-compose.sh`);
  }
  run('kcat', ['-V']);
  const missing = images.filter(
    (image) => spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) {
    console.log(`building missing images (${missing.join(', ')}): scripts/docker/build-images.sh`);
    execFileSync('bash', ['scripts/docker/build-images.sh'], { cwd: root, stdio: 'inherit' });
  }
  console.log(`docker compose ${version}, kcat, images present`);
}

async function withStack(stack: Stack, body: () => Promise<void>): Promise<void> {
  const startedMs = Date.now();
  compose(stack, ['down', '-v', '--remove-orphans']);
  try {
    compose(stack, ['up', '-d', '--wait', '--wait-timeout', String(checkLimits.upMsMax / 1000)]);
    console.log(`  up and healthy in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
    await body();
  } catch (error) {
    console.log(`--- last log lines of ${stack.project} ---`);
    console.log(spawnSync('docker', ['compose', '-p', stack.project, '-f', stack.file, 'logs',
      '--no-color', '--tail', '40'], { cwd: root, env: { ...process.env, ...stack.env },
      encoding: 'utf8' }).stdout);
    throw error;
  } finally {
    compose(stack, ['down', '-v', '--remove-orphans', '-t', '10']);
    console.log(`  torn down (down -v); ${((Date.now() - startedMs) / 1000).toFixed(1)} s in all`);
  }
}

/** A free host port that is not 9092, so a wrong advertised port cannot pass by luck. */
async function hostPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port !== 9092) return port;
  }
}

async function httpStatus(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

function kcatRoundTrip(bootstrap: string, topic: string): void {
  const values = ['kcat-1', 'kcat-2', 'kcat-3'];
  run('kcat', ['-b', bootstrap, '-P', '-t', topic, '-p', '0'], {}, `${values.join('\n')}\n`);
  const consumed = run('kcat', ['-b', bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'beginning',
    '-c', String(values.length), '-e', '-q']);
  check(consumed.trim().split('\n').join(',') === values.join(','),
    `kcat produced and consumed ${values.length} records through ${bootstrap}`);
}

async function kafkajsRoundTrip(brokers: string[], topic: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'compose-check', brokers, logLevel: logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const values = ['kafkajs-1', 'kafkajs-2', 'kafkajs-3'];
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `compose-check-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafkajs read ${seen.join(',')}`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
        if (values.every((value) => seen.includes(value))) { clearTimeout(timer); resolve(); }
      },
    });
  });
  await consumer.disconnect();
  check(values.every((value) => seen.includes(value)),
    `kafkajs produced and read back ${values.length} records in a group via ${brokers}`);
}

async function checkSingle(): Promise<void> {
  const port = await hostPort();
  const metricsPort = await freePort();
  const stack: Stack = {
    project: 'ledgerstream-check-single', file: 'docker-compose.single.yml',
    env: { LS_PORT: String(port), LS_METRICS_PORT: String(metricsPort),
      LS_MINIO_PORT: String(await freePort()), LS_MINIO_CONSOLE_PORT: String(await freePort()) },
  };
  console.log(`single broker: host port ${port} -> container 9092, metrics ${metricsPort}`);
  await withStack(stack, async () => {
    const bootstrap = `localhost:${port}`;
    const listing = run('kcat', ['-b', bootstrap, '-L']);
    check(/broker 1 at localhost:(\d+)/.exec(listing)?.[1] === String(port),
      `the broker advertises localhost:${port}, the mapped host port (kcat -L)`);
    kcatRoundTrip(bootstrap, 'compose-check-kcat');
    await kafkajsRoundTrip([bootstrap], 'compose-check-kafkajs');
    const ready = await httpStatus(`http://127.0.0.1:${metricsPort}/ready`);
    check(ready.status === 200, `/ready answers 200 on the published metrics port ${metricsPort}`);
    const metrics = await httpStatus(`http://127.0.0.1:${metricsPort}/metrics`);
    check(metrics.status === 200 && metrics.body.includes('ledgerstream_'),
      '/metrics serves ledgerstream_* series');
  });
}

export async function main(): Promise<void> {
  preflight();
  await checkSingle();
  await checkCluster();
  await checkClusterInNetwork();
  console.log(`\n${passed} passed, 0 failed`);
}

interface Leaders { [partition: number]: number }

async function leaders(admin: Admin, topic: string): Promise<Leaders> {
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const result: Leaders = {};
  for (const p of metadata.topics[0]?.partitions ?? []) result[p.partitionId] = p.leader;
  return result;
}

async function waitForLeaders(admin: Admin, topic: string, alive: number[]): Promise<Leaders> {
  const deadlineMs = Date.now() + checkLimits.failoverMsMax;
  let last: Leaders | string = 'none yet';
  while (Date.now() < deadlineMs) {
    try {
      const current = await leaders(admin, topic);
      const values = Object.values(current);
      if (values.length === 3 && values.every((leader) => alive.includes(leader))) return current;
      last = current;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, checkLimits.pollIntervalMs));
  }
  throw new Error(`partitions did not move to ${alive} in time; last: ${JSON.stringify(last)}`);
}

async function clusterStack(): Promise<{ stack: Stack; ports: number[] }> {
  const ports = [await hostPort(), await hostPort(), await hostPort()];
  const env: Record<string, string> = {
    LS_ETCD_PORT: String(await freePort()), LS_MINIO_PORT: String(await freePort()),
    LS_MINIO_CONSOLE_PORT: String(await freePort()),
  };
  for (const [i, port] of ports.entries()) {
    env[`LS_PORT_${i + 1}`] = String(port);
    env[`LS_METRICS_PORT_${i + 1}`] = String(await freePort());
  }
  const project = 'ledgerstream-check-cluster';
  return { stack: { project, file: 'docker-compose.yml', env }, ports };
}

async function produceToEach(kafka: Kafka, topic: string, tag: string): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [0, 1, 2].map((partition) => ({
    partition, value: `${tag}-p${partition}` })) });
  await producer.disconnect();
}

async function readAll(kafka: Kafka, topic: string, count: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `compose-check-read-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read only ${seen.join(',')}`)), 60_000);
    void consumer.run({ eachMessage: async ({ message }) => {
      seen.push(message.value?.toString() ?? '');
      if (seen.length >= count) { clearTimeout(timer); resolve(); }
    } });
  });
  await consumer.disconnect();
  return seen.sort();
}

async function checkCluster(): Promise<void> {
  const { stack, ports } = await clusterStack();
  console.log(`three brokers: host ports ${ports.join(', ')}`);
  await withStack(stack, async () => {
    const brokers = ports.map((port) => `localhost:${port}`);
    const kafka = new Kafka({ clientId: 'compose-check', brokers, logLevel: logLevel.NOTHING,
      retry: { retries: 8 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await failover(kafka, admin, stack);
    } finally {
      await admin.disconnect();
    }
  });
}

async function failover(kafka: Kafka, admin: Admin, stack: Stack): Promise<void> {
  const topic = 'compose-check-failover';
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  const before = await waitForLeaders(admin, topic, [1, 2, 3]);
  kcatRoundTrip(`localhost:${stack.env['LS_PORT_2']}`, 'compose-check-kcat');
  await produceToEach(kafka, topic, 'before');
  const victim = before[0]!;
  const moved = Object.keys(before).filter((p) => before[Number(p)] === victim);
  console.log(`  leaders ${JSON.stringify(before)}; killing ledgerstream-${victim} (SIGKILL)`);
  const killedMs = Date.now();
  compose(stack, ['kill', `ledgerstream-${victim}`]);
  const alive = [1, 2, 3].filter((id) => id !== victim);
  const after = await waitForLeaders(admin, topic, alive);
  check(moved.every((p) => alive.includes(after[Number(p)]!)),
    `partitions ${moved.join(',')} of broker ${victim} moved to ${alive} in ` +
    `${((Date.now() - killedMs) / 1000).toFixed(1)} s: leaders ${JSON.stringify(after)}`);
  await produceToEach(kafka, topic, 'after');
  const read = await readAll(kafka, topic, 6);
  const expected = ['before', 'after'].flatMap((tag) => [0, 1, 2].map((p) => `${tag}-p${p}`));
  check(read.join(',') === expected.sort().join(','),
    'every record produced before the kill is read back, and produce works on every partition');
  compose(stack, ['start', `ledgerstream-${victim}`]);
  compose(stack, ['up', '-d', '--wait', '--wait-timeout', String(checkLimits.upMsMax / 1000)]);
  const health = compose(stack, ['ps', '--format', '{{.Service}} {{.Health}}']);
  check(health.includes(`ledgerstream-${victim} healthy`),
    `ledgerstream-${victim} restarted and reports healthy again`);
}

/** kafkajs in a container of the compose network (the broker image ships it). */
const inNetworkClient = `
const { Kafka, logLevel } = require('kafkajs');
const [bootstrap, topic] = process.argv.slice(1);
const kafka = new Kafka({ clientId: 'in-network', brokers: [bootstrap],
  logLevel: logLevel.NOTHING });
(async () => {
  const producer = kafka.producer();
  await producer.connect();
  const messages = [0, 1, 2].map((p) => ({ partition: p, value: 'in-' + p }));
  await producer.send({ topic, messages });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'in-network' });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  await new Promise((resolve) => consumer.run({ eachMessage: async ({ message }) => {
    seen.push(message.value.toString()); if (seen.length === 3) resolve();
  } }));
  await consumer.disconnect();
  console.log(seen.sort().join(','));
})().catch((e) => { console.error(e.message); process.exit(1); });`;

/** The documented mode for clients inside the network: brokers advertise their service names. */
async function checkClusterInNetwork(): Promise<void> {
  const { stack, ports } = await clusterStack();
  for (const id of [1, 2, 3]) stack.env[`LS_ADVERTISED_HOST_${id}`] = `ledgerstream-${id}`;
  console.log(`three brokers advertising ledgerstream-1..3 (ports ${ports.join(', ')}), ` +
    'a kafkajs client in the compose network');
  await withStack(stack, async () => {
    const topic = 'compose-check-in-network';
    const output = run('docker', ['run', '--rm', '--network', `${stack.project}_default`,
      '--entrypoint', 'node', 'ledgerstream:local', '-e', inNetworkClient,
      `ledgerstream-1:${ports[0]}`, topic]);
    check(output.trim() === 'in-0,in-1,in-2',
      `a client in the network wrote and read all 3 partitions via ledgerstream-1:${ports[0]}`);
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  console.log(`\n${passed} passed, 1 failed`);
  process.exit(1);
});
