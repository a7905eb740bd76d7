/**
 * `ledgerstream cluster status`: brokers, the controller, partition leaders, and from the
 * brokers' /metrics the data not yet in object storage (the upload backlog and its age): at the
 * --metrics-url endpoints given, else at each broker's host on the metrics port (see
 * broker-metrics.ts).
 */
import { type Command } from 'commander';
import { errorName } from '../../protocol/generated/errors.js';
import { type MetadataResponse } from '../../protocol/generated/messages/metadata.js';
import { type BacklogReading, type EndpointAnswer, defaultMetricsUrl, describeBacklog, isReading, metricsPageUrl,
  readBacklog } from './broker-metrics.js';
import { CliError, type ConnectOptions, bootstrapOf, cannotReach, collect, table } from './connect.js';
import { MetadataUnavailable, fetchMetadata } from './metadata.js';

interface StatusOptions extends ConnectOptions {
  metricsUrl?: string[];
}

interface BrokerAddress {
  nodeId: number;
  host: string;
}

async function readMetadata(opts: ConnectOptions): Promise<MetadataResponse> {
  try {
    return await fetchMetadata(bootstrapOf(opts));
  } catch (err) {
    if (!(err instanceof MetadataUnavailable)) throw err;
    throw err.unreachable ? cannotReach(opts) : new CliError(`${err.message}; is --bootstrap-server a Kafka listener?`);
  }
}

/** Partitions with no live leader, as "topic-partition (ERROR_NAME)"; and how many each broker leads. */
function leadership(meta: MetadataResponse): { led: Map<number, number>; leaderless: string[] } {
  const led = new Map<number, number>();
  const leaderless: string[] = [];
  for (const t of meta.topics) {
    if (t.errorCode !== 0) leaderless.push(`${t.name} (${errorName(t.errorCode)})`);
    for (const p of t.partitions) {
      if (p.leaderId >= 0 && meta.brokers.some((b) => b.nodeId === p.leaderId)) {
        led.set(p.leaderId, (led.get(p.leaderId) ?? 0) + 1);
      } else {
        leaderless.push(`${t.name}-${p.partitionIndex}${p.errorCode === 0 ? '' : ` (${errorName(p.errorCode)})`}`);
      }
    }
  }
  return { led, leaderless };
}

async function status(opts: StatusOptions): Promise<void> {
  const meta = await readMetadata(opts);
  const { led, leaderless } = leadership(meta);
  const partitions = meta.topics.reduce((n, t) => n + t.partitions.length, 0);
  console.log(`cluster ${meta.clusterId ?? '(no id)'}: ${meta.brokers.length} broker(s), ${meta.topics.length} topic(s), ` +
    `${partitions} partition(s)`);
  const brokers = [...meta.brokers].sort((x, y) => x.nodeId - y.nodeId);
  const rows: (string | number)[][] = [['BROKER', 'ADDRESS', 'ROLE', 'LEADS']];
  for (const b of brokers) {
    rows.push([b.nodeId, `${b.host}:${b.port}`, b.nodeId === meta.controllerId ? 'controller' : '-', led.get(b.nodeId) ?? 0]);
  }
  console.log(table(rows));
  console.log(leaderless.length === 0 ? 'every partition has a leader'
    : `partitions without a live leader (${leaderless.length}): ${leaderless.slice(0, 20).join(', ')}` +
      (leaderless.length > 20 ? ', …' : ''));
  await printBacklog(brokers, opts.metricsUrl ?? []);
}

/**
 * One line per broker: its backlog, or why it is unknown and what to pass. An endpoint given that
 * names no broker of this cluster still gets its line.
 */
async function printBacklog(brokers: readonly BrokerAddress[], given: readonly string[]): Promise<void> {
  const defaulted = given.length === 0;
  const urls = defaulted ? brokers.map((b) => defaultMetricsUrl(b.host)).filter((u) => u !== null)
    : given.map(metricsPageUrl);
  const answers = await Promise.all([...new Set(urls)].map(readBacklog));
  const readings = answers.filter(isReading);
  for (const b of brokers) {
    const own = readings.find((r) => r.nodeId === b.nodeId);
    console.log(own !== undefined
      ? `object-store backlog of broker ${b.nodeId}: ${describeBacklog(own)} (${own.url})`
      : `object-store backlog of broker ${b.nodeId}: unknown (${whyUnknown(b, answers, defaulted)}); ` +
        `if it serves metrics (--metrics-port N), pass --metrics-url http://${b.host}:N`);
  }
  for (const r of readings.filter((r) => !brokers.some((b) => b.nodeId === r.nodeId))) {
    console.log(`object-store backlog at ${r.url}: ${describeBacklog(r)} (${r.nodeId === null
      ? 'the endpoint does not say which broker it is' : `broker ${r.nodeId}, not in this cluster's metadata`})`);
  }
  // Each endpoint given is accounted for, even one of a broker no longer in the metadata.
  if (!defaulted) for (const a of answers) if (!isReading(a)) console.log(`metrics at ${a.url}: unreadable (${a.reason})`);
}

/** What was read where this broker's metrics could have been. */
function whyUnknown(broker: BrokerAddress, answers: readonly EndpointAnswer[], defaulted: boolean): string {
  if (!defaulted) return `no --metrics-url endpoint answered as broker ${broker.nodeId}`;
  const ownUrl = defaultMetricsUrl(broker.host);
  const own = answers.find((a) => a.url === ownUrl);
  if (own === undefined) return 'LEDGERSTREAM_METRICS_PORT=0 in this shell';
  return `${own.url}: ${isReading(own) ? answeredFor(own) : own.reason}`;
}

function answeredFor(reading: BacklogReading): string {
  return reading.nodeId === null ? 'does not say which broker it is' : `broker ${reading.nodeId}'s`;
}

export function addClusterCommands(program: Command, withBootstrap: (c: Command) => Command): void {
  const cluster = program.command('cluster').description('the cluster as clients see it');
  withBootstrap(cluster.command('status').description('brokers, controller, leaders and the object-store backlog')
    .option('--metrics-url <url>', 'a broker\'s metrics endpoint, e.g. http://127.0.0.1:9464 (repeatable; default: ' +
      'each broker\'s host at port $LEDGERSTREAM_METRICS_PORT, else 9464)', collect))
    .action((opts: StatusOptions) => {
      for (const u of opts.metricsUrl ?? []) {
        if (!/^https?:\/\//.test(u)) throw new CliError(`--metrics-url: expected http://host:port, got "${u}"`, 2);
      }
      return status(opts);
    });
}
