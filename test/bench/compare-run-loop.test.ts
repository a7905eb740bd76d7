/**
 * `npm run bench` survives a failing run: a workload or scenario that throws is recorded with its
 * error, the loop goes on with the next one, the report (really written, to a temp folder) lists
 * the failure under Problems and shows n/a for its figures, and the exit status says 1. Once a
 * broker process is gone, the runs after it are recorded as not run instead of each waiting for
 * its tools' timeouts. The workloads here are stand-ins (no brokers, no Java): the loop and the
 * report are the real ones; test/bench/compare-harness.test.ts runs the real workloads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureProblem, RunFailures } from '../../bench/compare/failures.js';
import { FLEET_DEFAULTS } from '../../bench/compare/fleet.js';
import { runEach } from '../../bench/compare/run-loop.js';
import type { SystemUnderTest } from '../../bench/compare/systems.js';
import { TXN_DEFAULTS, type TxnRun } from '../../bench/compare/transactions.js';
import type { BrokerUse, Step, SystemResults, Workload } from '../../bench/compare/workloads.js';
import { writeReport } from '../../bench/compare/write-report.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const TXN_ERROR = 'TransactionalProducer: exited 1\n--- stderr\nOutOfOrderSequenceException: ' +
  'expected sequence 600, got 615';

/** A system whose "broker" is the process `pid` (this test's own, or one that has exited). */
function stepOn(pid: number): Step {
  const system: SystemUnderTest = {
    id: 'ledgerstream', description: 'a stand-in broker', bootstrap: '127.0.0.1:1',
    metricsPorts: [], pids: () => [pid],
    createTopic: () => Promise.reject(new Error('not a broker')),
    restartAll: () => Promise.reject(new Error('not a broker')),
  };
  const s = { recordBytes: 1024, maxRecords: 1000, rate: 100, fixedS: 1, e2eRecords: 10,
    kafkajsS: 1, warmupRecords: 1000, ...FLEET_DEFAULTS, ...TXN_DEFAULTS };
  return { system, s, connection: { bootstrap: system.bootstrap }, profiles: {},
    topic: (what) => `test-${what}`, log: () => {} };
}

const use: BrokerUse = { wallS: 1, brokerCpuS: 0.5, brokerCpuSPerGb: 2, peakRssMiB: 100,
  clientCpuS: 0.2, machineBusy: 0.4, putsPerS: [4], getsPerS: [1], eventLoopP99Ms: 3,
  eventLoopMaxMs: 9, walFsyncP50Ms: 5, walFsyncP99Ms: 10 };
const txn: TxnRun = { ...use, transactions: 10, records: 1000, recordsPerS: 1000, mbPerS: 1,
  commitP50Ms: 5, commitP99Ms: 7, commitMaxMs: 8 };

/** Three runs, the middle one throwing; each notes that it ran. */
function workloads(ran: string[]): Workload[] {
  return [
    { name: 'end-to-end latency', async run(_st, into) {
      ran.push('e2e');
      into.e2e = { records: 10, avgMs: 2, p50Ms: 2, p99Ms: 4, p999Ms: 5 };
    } },
    { name: 'transactional produce', async run() {
      ran.push('txn');
      throw new Error(TXN_ERROR);
    } },
    { name: 'TLS', async run(_st, into) {
      ran.push('after');
      into.txn = txn; // any figure: proves the run after the failure stored its results
    } },
  ];
}

describe('the bench run loop', () => {
  it('records a workload that throws and goes on with the next', async () => {
    const ran: string[] = [];
    const failures = new RunFailures(() => {});
    const into: SystemResults = { profiles: {}, produce: [] };
    await runEach(stepOn(process.pid), workloads(ran), into, failures);
    expect(ran).toEqual(['e2e', 'txn', 'after']);
    expect(into.e2e?.p50Ms).toBe(2);
    expect(into.txn).toBe(txn);
    expect(failures.list.map((f) => [f.system, f.run])).toEqual(
      [['Ledgerstream', 'transactional produce']]);
    expect(failures.list[0]!.error).toContain('expected sequence 600, got 615');
    expect(failures.exitCode()).toBe(1);
    expect(new RunFailures(() => {}).exitCode()).toBe(0);
  });

  it('does not start runs once the broker process is gone', async () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    expect(exited.status).toBe(0);
    const ran: string[] = [];
    const failures = new RunFailures(() => {});
    await runEach(stepOn(exited.pid!), workloads(ran), { profiles: {}, produce: [] }, failures);
    expect(ran).toEqual([]);
    expect(failures.list.map((f) => f.run)).toEqual(
      ['end-to-end latency', 'transactional produce', 'TLS']);
    expect(failures.list[0]!.error).toMatch(/^not run: broker process \d+ has exited$/);
  });

  it('writes the report with the failure under Problems and n/a for its figures', async () => {
    const outDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-loop-'));
    dirs.push(outDir);
    const failures = new RunFailures(() => {});
    const st = stepOn(process.pid);
    const into: SystemResults = { profiles: {}, produce: [] };
    await runEach(st, workloads([]).slice(0, 2), into, failures);
    const { md, mdFile } = await writeReport({
      s: { ...st.s, tlsSystems: [], txnSystems: ['ledgerstream'], outDir, readme: false },
      stamp: '2026-01-01T00-00-00Z', startedMs: Date.now(), results: { ledgerstream: into },
      descriptions: new Map([['ledgerstream', 'a stand-in broker']]), problems: [],
      failures: failures.list, kafkaVersion: 'none', javaVersion: 'none' });
    expect(await readFile(mdFile, 'utf8')).toBe(md);
    const problems = md.slice(md.indexOf('## Problems'), md.indexOf('## More than 2×'));
    expect(problems).toContain('- Ledgerstream: transactional produce failed (not measured): ' +
      'Error: TransactionalProducer: exited 1');
    expect(problems).toContain('  OutOfOrderSequenceException: expected sequence 600, got 615');
    const cells = (label: string) => md.split('\n').find((l) => l.startsWith(`| ${label} `))
      ?.split('|').map((c) => c.trim());
    // Columns: figure, Kafka, Kafka fsync, Ledgerstream, …
    expect(cells('p50 ms (↓)')?.[4]).toBe('2.00');
    expect(cells('MB/s, just written (Kafka: page cache; Ledgerstream: in-memory tail) (↑)')?.[4])
      .toBe('n/a');
    const raw = JSON.parse(await readFile(path.join(outDir, 'raw',
      'compare-2026-01-01T00-00-00Z.json'), 'utf8')) as { failures: unknown[] };
    expect(raw.failures).toHaveLength(1);
  });

  it('quotes a long error only in part', () => {
    const error = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n');
    const item = failureProblem({ system: 'Kafka', run: 'agent fleet', error });
    expect(item).toContain('line 0');
    expect(item).not.toContain('line 499');
    expect(item).toContain('…');
  });
});
