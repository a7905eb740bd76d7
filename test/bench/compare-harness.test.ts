/**
 * `npm run bench` must keep working: run the side-by-side harness end to end at a tiny size
 * against a real Apache Kafka (jars from Maven Central, cached) and a real three-broker
 * Ledgerstream cluster, into a temp folder, and check that every figure of the report was
 * measured and the chart was drawn. The figures themselves are not judged: no timing asserts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { javaAvailable } from '../helpers/kafka-tools.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const RUN_MS_MAX = 8 * 60_000;
let outDir: string | undefined;

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

function runHarness(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'bench/compare/main.ts'), ...args],
      { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-20_000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_MS_MAX);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

it.skipIf(!javaAvailable())('npm run bench measures Kafka and a Ledgerstream cluster and writes the table and chart', async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-test-'));
  const r = await runHarness(['--systems', 'kafka,ledgerstream-cluster', '--out-dir', outDir,
    '--max-records', '5000', '--rate', '500', '--fixed-s', '1', '--e2e-records', '20', '--kafkajs-s', '1',
    '--warmup-records', '2000']);
  expect(r.code, r.stderr).toBe(0);
  const files = await readdir(outDir);
  const md = files.find((f) => /^compare-.*Z\.md$/.test(f));
  expect(md, files.join(', ')).toBeDefined();
  expect(existsSync(path.join(outDir, md!.replace(/\.md$/, '.svg')))).toBe(true);
  expect(existsSync(path.join(outDir, 'compare-latest.svg'))).toBe(true);
  const report = await readFile(path.join(outDir, md!), 'utf8');
  // Columns: figure | Kafka | Kafka fsync | Ledgerstream | Ledgerstream ×3 | ratios. Every
  // figure row must carry a number for both measured systems.
  const figureRows = report.split('\n').filter((l) => /^\| [^*|].*\((↑|↓)\) \|/.test(l));
  expect(figureRows.length).toBeGreaterThan(30);
  for (const row of figureRows) {
    const cells = row.split('|').map((c) => c.trim());
    expect(cells[2], row).toMatch(/^[\d,.]+$/); // Kafka
    expect(cells[5], row).toMatch(/^[\d,.]+$/); // Ledgerstream ×3
  }
  const svg = await readFile(path.join(outDir, 'compare-latest.svg'), 'utf8');
  expect(svg).toContain('<svg');
  expect(svg).toContain('Ledgerstream ×3');
}, RUN_MS_MAX + 30_000);
