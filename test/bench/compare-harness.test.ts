/**
 * `npm run bench` must keep working: run the side-by-side harness end to end at a tiny size
 * against a real Apache Kafka (jars from Maven Central, cached), one Ledgerstream broker with its
 * objects in a real MinIO, one in the object-storage WAL mode on it, and a real three-broker
 * Ledgerstream cluster, into a temp folder, with a tiny agent fleet (bench/load-go), and check
 * that every figure of the report was measured and the chart was drawn. The scenarios run on
 * the S3 broker only, to keep the test's time: TLS (its SSL listener beside PLAINTEXT, the
 * tools' SSL client config) and transactions (TransactionalProducer.java compiled and run).
 * The figures themselves are not judged: no timing asserts.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LEDGERSTREAM_ONLY_SECTIONS, SCENARIO_SECTIONS } from '../../bench/compare/report.js';
import { goAvailable } from '../helpers/go-build.js';
import { javaAvailable } from '../helpers/kafka-tools.js';
import { runBenchScript } from '../helpers/run-bench.js';

const RUN_MS_MAX = 14 * 60_000;
let outDir: string | undefined;

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

const SYSTEMS = 'kafka,ledgerstream-s3,ledgerstream-object-wal,ledgerstream-cluster';
const TINY = ['--max-records', '5000', '--rate', '500', '--fixed-s', '1', '--e2e-records', '20',
  '--kafkajs-s', '1', '--warmup-records', '2000', '--fleet-producers', '20', '--fleet-rate', '5',
  '--fleet-groups', '2', '--fleet-consumers-per-group', '2', '--fleet-partitions', '4',
  '--fleet-s', '1', '--txn-s', '1', '--tls-systems', 'ledgerstream-s3',
  '--txn-systems', 'ledgerstream-s3'];
// Columns: figure | Kafka | Kafka fsync | Ledgerstream | Ledgerstream S3 |
// Ledgerstream object WAL | Ledgerstream ×3 | ratios.
const KAFKA = 2;
const S3 = 5;
const OBJECT_WAL = 6;
const CLUSTER = 7;
const NUMBER = /^[\d,.]+$/;
/** Columns each scenario's section fills with the flags above; the others read n/a. */
const SCENARIO_COLUMNS: Record<string, number[]> = { 'TLS:': [S3], 'Transactional produce': [S3] };
/** Rows of each scenario's section: TLS 5 figures × (plaintext, TLS, quotient), transactions 5. */
const SCENARIO_ROWS: Record<string, number> = { 'TLS:': 15, 'Transactional produce': 5 };

/** Figure rows with the section each lies in. */
function figureRows(report: string): { section: string; cells: string[]; row: string }[] {
  let section = '';
  const out: { section: string; cells: string[]; row: string }[] = [];
  for (const row of report.split('\n')) {
    const heading = /^\| \*\*(.+)\*\* \|/.exec(row);
    if (heading) section = heading[1]!;
    else if (/^\| [^*|].*\((↑|↓)\) \|/.test(row)) {
      out.push({ section, row, cells: row.split('|').map((c) => c.trim()) });
    }
  }
  return out;
}

const title = 'npm run bench measures Kafka and Ledgerstream (S3, object WAL, cluster) and ' +
  'writes the table and chart';
it.skipIf(!javaAvailable() || !goAvailable())(title, async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-test-'));
  const r = await runBenchScript('bench/compare/main.ts',
    ['--systems', SYSTEMS, '--out-dir', outDir, ...TINY], RUN_MS_MAX);
  expect(r.code, r.stderr).toBe(0);
  const files = await readdir(outDir);
  const md = files.find((f) => /^compare-.*Z\.md$/.test(f));
  expect(md, files.join(', ')).toBeDefined();
  expect(existsSync(path.join(outDir, md!.replace(/\.md$/, '.svg')))).toBe(true);
  expect(existsSync(path.join(outDir, 'compare-latest.svg'))).toBe(true);
  const report = await readFile(path.join(outDir, md!), 'utf8');
  const rows = figureRows(report);
  expect(rows.length).toBeGreaterThan(50);
  for (const scenario of SCENARIO_SECTIONS) {
    const own = rows.filter((r) => r.section.startsWith(scenario));
    expect(own.length, scenario).toBe(SCENARIO_ROWS[scenario]);
    for (const { cells, row } of own) {
      for (const column of [KAFKA, S3, OBJECT_WAL, CLUSTER]) {
        expect(cells[column], row).toMatch(SCENARIO_COLUMNS[scenario]!.includes(column) ? NUMBER : /^n\/a$/);
      }
    }
  }
  for (const { section, cells, row } of rows) {
    if (SCENARIO_SECTIONS.some((s) => section.startsWith(s))) continue;
    const ledgerstreamOnly = LEDGERSTREAM_ONLY_SECTIONS.some((s) => section.startsWith(s));
    if (!ledgerstreamOnly) expect(cells[KAFKA], row).toMatch(NUMBER);
    expect(cells[S3], row).toMatch(NUMBER);
    // The object-storage WAL has no local WAL to fsync.
    expect(cells[OBJECT_WAL], row).toMatch(row.includes('WAL fsync') ? /^n\/a$/ : NUMBER);
    // The cluster's objects are in a shared folder: it has no raw GET from S3.
    if (!section.startsWith('Reads from S3')) expect(cells[CLUSTER], row).toMatch(NUMBER);
  }
  // Every Ledgerstream run's line in the resource table: PUTs/s and GETs/s of each broker (three
  // for the cluster), the event-loop delay and the WAL fsync latency of each produce run with a
  // local WAL, all read from the brokers' /metrics.
  const useRows = report.split('\n').map((l) => l.split('|').map((c) => c.trim()))
    .filter((cells) => cells.length === 16 && cells[1]!.startsWith('Ledgerstream'));
  // Three systems × 12 runs, and the S3 broker's scenario runs: TLS produce max, produce fixed
  // and consume, and the transactional produce.
  expect(useRows.length).toBe(3 * 12 + 4);
  for (const cells of useRows) {
    const three = /^[\d,.]+ \/ [\d,.]+ \/ [\d,.]+$/;
    const perBroker = cells[1] === 'Ledgerstream ×3' ? three : NUMBER;
    for (const i of [9, 10]) expect(cells[i], cells.join('|')).toMatch(perBroker);
    for (const i of [11, 12]) expect(cells[i], cells.join('|')).toMatch(NUMBER);
    const fsyncs = cells[1] !== 'Ledgerstream object WAL' && cells[2]!.startsWith('produce max');
    for (const i of [13, 14]) if (fsyncs) expect(cells[i], cells.join('|')).toMatch(NUMBER);
  }
  const svg = await readFile(path.join(outDir, 'compare-latest.svg'), 'utf8');
  expect(svg).toContain('<svg');
  expect(svg).toContain('Ledgerstream object WAL');
}, RUN_MS_MAX + 30_000);
