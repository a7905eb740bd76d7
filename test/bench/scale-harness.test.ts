/**
 * `npm run bench:scale` must keep working: run the scale scenario end to end at a tiny size
 * (50 partitions, 20 connections) against a real broker process, with bench/load-go's franz-go
 * clients, into a temp folder, and check that every figure of its report was measured. The
 * figures themselves are not judged: no timing asserts.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { goAvailable } from '../helpers/go-build.js';
import { runBenchScript } from '../helpers/run-bench.js';

/** A cold build of the Go generator takes ~25 s on 2 cores; the run itself seconds. */
const RUN_MS_MAX = 5 * 60_000;
let outDir: string | undefined;

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

const title = 'npm run bench:scale measures a broker of many partitions and connections';
it.skipIf(!goAvailable())(title, async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-bench-scale-test-'));
  const r = await runBenchScript('bench/scale/main.ts', ['--partitions', '50',
    '--connections', '20', '--metadata-requests', '3', '--fetch-requests', '5',
    '--fetch-all-requests', '1', '--out-dir', outDir], RUN_MS_MAX);
  expect(r.code, r.stderr).toBe(0);
  const md = (await readdir(outDir)).find((f) => /^scale-.*Z\.md$/.test(f));
  expect(md).toBeDefined();
  const report = await readFile(path.join(outDir, md!), 'utf8');
  const rows = report.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Figure'));
  expect(rows.length).toBe(13);
  for (const row of rows) expect(row, row).not.toMatch(/n\/a/);
  // Every partition took its record and came back with it in the all-partition Fetch.
  // (Checked again in Go: an answer with an error code fails the run.)
  expect(report).toContain('| connections held (opened in s) | 20 (');
  expect(report).toContain('Fetch of all 50 partitions (50 with records)');
  expect(report).toContain('- Produce: 50 records acknowledged, 0 failed.');
}, RUN_MS_MAX + 30_000);
