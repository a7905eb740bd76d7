/**
 * The scale scenario's report: one table of what was measured, and the setup it ran with.
 */
import { fmt } from '../compare/report.js';
import type { LatencySummary } from '../compare/fleet.js';
import type { ScaleSettings } from './main.js';

/** What bench/load-go's scale subcommand prints. */
export interface ScaleClientResult {
  connections: number;
  connectionsOpenS: number;
  metadata: LatencySummary;
  metadataPartitions: number;
  produced: number;
  produceErrors: number;
  firstError: string;
  produceAllS: number;
  produce: LatencySummary;
  fetchOne: LatencySummary;
  fetchAll: LatencySummary;
  fetchAllPartitionsWithRecords: number;
}

export interface ScaleResults {
  settings: ScaleSettings;
  createTopicS: number;
  /** Graceful stop, then start until listening: partitions empty, then each holding a record. */
  startEmptyS: number;
  startWithDataS: number;
  rssEmptyMiB: number;
  rssCreatedMiB: number;
  rssRestartedMiB: number;
  rssPeakUnderLoadMiB: number;
  rssAfterDataRestartMiB: number;
  /** Broker CPU and wall time of the client step (connections, Metadata, produce, Fetch). */
  brokerCpuS: number;
  wallS: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  client: ScaleClientResult;
}

const ms = (l: LatencySummary) =>
  `${fmt(l.p50Ms ?? NaN)} / ${fmt(l.p99Ms ?? NaN)} / ${fmt(l.maxMs ?? NaN)}`;
const pair = (a: number, b: number) => `${fmt(a)} / ${fmt(b)}`;
const count = (n: number) => n.toLocaleString('en-US');

/** The table's rows: figure, value. */
function figures(r: ScaleResults): [string, string][] {
  const c = r.client;
  const n = r.settings.partitions.toLocaleString('en-US');
  return [
    [`create the topic of ${n} partitions, s`, fmt(r.createTopicS)],
    ['start-up, partitions empty (start to listening), s', fmt(r.startEmptyS)],
    ['start-up, a record in every partition, s', fmt(r.startWithDataS)],
    ['RSS MiB: no topic / after create / after restart',
      `${fmt(r.rssEmptyMiB)} / ${pair(r.rssCreatedMiB, r.rssRestartedMiB)}`],
    ['RSS MiB: peak with the connections and load / after the second restart',
      pair(r.rssPeakUnderLoadMiB, r.rssAfterDataRestartMiB)],
    ['connections held (opened in s)', `${count(c.connections)} (${fmt(c.connectionsOpenS)})`],
    [`Metadata of the topic (${count(c.metadataPartitions)} partitions), ms p50 / p99 / max`,
      ms(c.metadata)],
    ['produce one record to every partition (acks=-1, idempotent), s', fmt(c.produceAllS)],
    ['per record, ms p50 / p99 / max', ms(c.produce)],
    ['Fetch of one partition, ms p50 / p99 / max', ms(c.fetchOne)],
    [`Fetch of all ${n} partitions (${count(c.fetchAllPartitionsWithRecords)} with records), ` +
      'ms p50 / p99 / max', ms(c.fetchAll)],
    ['broker CPU s over the client step (wall s)', `${fmt(r.brokerCpuS)} (${fmt(r.wallS)})`],
    ['event-loop delay over the client step, ms p99 / max (≤)',
      pair(r.eventLoopP99Ms, r.eventLoopMaxMs)],
  ];
}

function setupNotes(r: ScaleResults): string[] {
  const s = r.settings;
  const c = r.client;
  return [
    `- Clients: bench/load-go \`scale\` (franz-go): ${s.connections} clients each holding one ` +
      'connection (ApiVersions answered), then one more client times ' +
      `${s.metadataRequests} Metadata requests, produces one record to each partition, times ` +
      `${s.fetchRequests} Fetches of a random partition from offset 0 and ${s.fetchAllRequests} ` +
      'of all partitions (max wait 0). Every answer is checked.',
    '- Start-up: a graceful stop (SIGTERM), then the time from starting the process to its ' +
      '"listening" line: first with the partitions empty, then with a record in each (uploaded ' +
      'at the stop).',
    '- The Fetches read the in-memory tail (just produced). RSS from /proc/<pid>/status; ' +
      'broker CPU from /proc/<pid>/stat.',
    `- Produce: ${count(c.produced)} records acknowledged, ${count(c.produceErrors)} failed` +
      `${c.firstError ? ` (first: ${c.firstError})` : ''}.`,
  ];
}

export function scaleReport(r: ScaleResults,
  run: { stamp: string; revision: string; machine: string }): string {
  const s = r.settings;
  return [
    `# Ledgerstream at scale: ${s.partitions.toLocaleString('en-US')} partitions, ` +
      `${s.connections.toLocaleString('en-US')} connections, ${run.stamp}`,
    '',
    `Code: ${run.revision}. Machine: ${run.machine}; Node ${process.version}. ` +
      'One broker, embedded defaults.',
    '',
    '| Figure | Value |',
    '|---|---:|',
    ...figures(r).map(([label, value]) => `| ${label} | ${value} |`),
    '',
    '## Setup',
    '',
    ...setupNotes(r),
    '',
  ].join('\n');
}
