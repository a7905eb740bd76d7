/**
 * `ledgerstream cluster status`: brokers, the controller, partition leaders, and from the
 * brokers' /metrics the data not yet in object storage (the upload backlog and its age).
 */
import { type Command } from 'commander';
import { CliError, type ConnectOptions, collect, table, withAdmin } from './connect.js';

interface StatusOptions extends ConnectOptions {
  metricsUrl?: string[];
}

interface Backlog {
  bytes: number;
  oldestSeconds: number;
}

/** Reads the backlog gauges of one broker's Prometheus endpoint; null when it cannot be read. */
async function backlogAt(url: string): Promise<Backlog | string> {
  const target = /\/metrics$/.test(url) ? url : `${url.replace(/\/$/, '')}/metrics`;
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return `HTTP ${res.status}`;
    const text = await res.text();
    const value = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
      return line === undefined ? NaN : Number(line.split(' ').at(-1));
    };
    const bytes = value('ledgerstream_upload_backlog_bytes');
    if (Number.isNaN(bytes)) return 'no ledgerstream_upload_backlog_bytes series (not a Ledgerstream broker?)';
    return { bytes, oldestSeconds: value('ledgerstream_upload_backlog_oldest_seconds') };
  } catch (err) {
    return (err as Error).message;
  }
}

async function status(opts: StatusOptions): Promise<void> {
  await withAdmin(opts, async (admin) => {
    const cluster = await admin.describeCluster();
    const topics = (await admin.listTopics()).sort();
    const meta = topics.length === 0 ? [] : (await admin.fetchTopicMetadata({ topics })).topics;
    const led = new Map<number, number>();
    const leaderless: string[] = [];
    for (const t of meta) {
      for (const p of t.partitions) {
        if (p.leader < 0 || !cluster.brokers.some((b) => b.nodeId === p.leader)) leaderless.push(`${t.name}-${p.partitionId}`);
        else led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
      }
    }
    const partitions = meta.reduce((n, t) => n + t.partitions.length, 0);
    console.log(`cluster ${cluster.clusterId}: ${cluster.brokers.length} broker(s), ${topics.length} topic(s), ` +
      `${partitions} partition(s)`);
    const rows: (string | number)[][] = [['BROKER', 'ADDRESS', 'ROLE', 'LEADS']];
    for (const b of [...cluster.brokers].sort((x, y) => x.nodeId - y.nodeId)) {
      rows.push([b.nodeId, `${b.host}:${b.port}`, b.nodeId === cluster.controller ? 'controller' : '-', led.get(b.nodeId) ?? 0]);
    }
    console.log(table(rows));
    console.log(leaderless.length === 0 ? 'every partition has a leader'
      : `partitions without a live leader (${leaderless.length}): ${leaderless.slice(0, 20).join(', ')}` +
        (leaderless.length > 20 ? ', …' : ''));
    await printBacklog(opts.metricsUrl ?? []);
  });
}

async function printBacklog(urls: readonly string[]): Promise<void> {
  if (urls.length === 0) {
    console.log('object-store backlog: unknown (pass --metrics-url http://host:port for each broker started ' +
      'with --metrics-port)');
    return;
  }
  for (const url of urls) {
    const b = await backlogAt(url);
    console.log(typeof b === 'string'
      ? `object-store backlog at ${url}: unreadable (${b})`
      : `object-store backlog at ${url}: ${b.bytes} bytes not yet in object storage` +
        (b.bytes > 0 && Number.isFinite(b.oldestSeconds) ? `, oldest ${b.oldestSeconds.toFixed(1)} s old` : ''));
  }
}

export function addClusterCommands(program: Command, withBootstrap: (c: Command) => Command): void {
  const cluster = program.command('cluster').description('the cluster as clients see it');
  withBootstrap(cluster.command('status').description('brokers, controller, leaders and the object-store backlog')
    .option('--metrics-url <url>', 'a broker\'s metrics endpoint, e.g. http://127.0.0.1:9464 (repeatable)', collect))
    .action((opts: StatusOptions) => {
      for (const u of opts.metricsUrl ?? []) {
        if (!/^https?:\/\//.test(u)) throw new CliError(`--metrics-url: expected http://host:port, got "${u}"`, 2);
      }
      return status(opts);
    });
}
