/**
 * `npm run bench:pairs` must keep working: run the paired harness end to end at a tiny size, two
 * rounds, against a real Apache Kafka (jars from Maven Central, cached) and one Ledgerstream
 * broker, with a tiny agent fleet (bench/load-go), into a temp folder; check that every figure of
 * both rounds was measured, that the second round ran the systems in reverse order, and that
 * the summary gives a median and range of ratios for each figure. The figures themselves are not
 * judged: no timing asserts.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { goAvailable } from '../helpers/go-build.js';
import { javaAvailable } from '../helpers/kafka-tools.js';
import { runBenchScript } from '../helpers/run-bench.js';

const RUN_MS_MAX = 10 * 60_000;
const TINY = ['--rounds', '2', '--max-records', '3000', '--warmup-records', '2000',
  '--fleet-producers', '10', '--fleet-rate', '5', '--fleet-groups', '1',
  '--fleet-consumers-per-group', '1', '--fleet-partitions', '2', '--fleet-s', '1'];
const NUMBER = /^[\d,.]+$/;
/** A round's figure, `*` when the machine was busy elsewhere (the other harness test beside it). */
const ROUND_FIGURE = /^[\d,.]+\*?$/;
/** "0.92× (0.85–1.01×, 1 of 2 better)": a median, the range, the rounds won. */
const RATIOS = /^\d+\.\d\d× \(\d+\.\d\d–\d+\.\d\d×, [012] of 2 better\)$/;
/** 4 produce runs × (MB/s, p99, CPU per GB), then the fleet's 4 figures. */
const PRODUCE_FIGURES = 12;
const FLEET_FIGURES = 4;

let outDir: string | undefined;

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

const cellsOf = (row: string) => row.split('|').slice(1, -1).map((c) => c.trim());

const title = 'npm run bench:pairs alternates Kafka and Ledgerstream round by round and ' +
  'reports per-round ratios';
it.skipIf(!javaAvailable() || !goAvailable())(title, async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-pairs-test-'));
  const r = await runBenchScript('bench/compare/pairs.ts', ['--out-dir', outDir, ...TINY],
    RUN_MS_MAX);
  expect(r.code, r.stderr).toBe(0);
  const md = (await readdir(outDir)).find((f) => /^pairs-.*Z\.md$/.test(f));
  expect(md).toBeDefined();
  const report = await readFile(path.join(outDir, md!), 'utf8');
  expect(report).not.toContain('## Problems');
  const summary = report.split('\n').filter((l) => /^\| (produce|agent fleet)/.test(l))
    .map(cellsOf);
  expect(summary.length).toBe(PRODUCE_FIGURES + FLEET_FIGURES);
  summary.forEach((cells, i) => {
    const produce = i < PRODUCE_FIGURES;
    expect(cells[1], cells[0]).toMatch(NUMBER); // Kafka
    expect(cells[2], cells[0]).toMatch(produce ? NUMBER : /^n\/a$/); // Kafka fsync
    expect(cells[3], cells[0]).toMatch(NUMBER); // Ledgerstream
    expect(cells[4], cells[0]).toMatch(RATIOS);
    expect(cells[5], cells[0]).toMatch(produce ? RATIOS : /^n\/a$/);
  });
  const rounds = report.split('\n').filter((l) => /^\| [12] \| /.test(l)).map(cellsOf);
  // Four produce tables and the fleet's, two rounds each.
  expect(rounds.length).toBe(10);
  for (const cells of rounds) {
    expect(cells[1]).toBe(cells[0] === '1' ? 'Kafka, Kafka fsync, Ledgerstream'
      : 'Ledgerstream, Kafka fsync, Kafka');
    for (const figure of cells.slice(2)) expect(figure, cells.join('|')).toMatch(ROUND_FIGURE);
  }
}, RUN_MS_MAX + 30_000);
