/**
 * WAL micro-benchmark: appends/s, MB/s and fsyncs/s for 1 KiB and 64 KiB entries with 1, 16 and
 * 256 concurrent appenders (each appender awaits its append before the next, like a producer
 * waiting for acks=all). Shows what group commit buys: fsyncs/s stays near the disk's fsync rate
 * while appends/s grows with concurrency.
 *
 *   npx tsx bench/micro/wal.ts [--dir /path/on/the/disk/to/test] [--seconds 3]
 *
 * The folder must be on the filesystem you care about: tmpfs makes fdatasync free.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  partitionHeaderCodec,
  type PartitionEntryHeader,
} from '../../storage/wal/partition-header.js';
import { Wal } from '../../storage/wal/wal.js';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, seconds: { type: 'string', default: '3' } },
});
const parentDir = values.dir ?? tmpdir();
const durationMs = Number(values.seconds) * 1000;
const entrySizesBytes = [1024, 64 * 1024];
const concurrencies = [1, 16, 256];

interface Result {
  entryBytes: number;
  appenders: number;
  appendsPerSec: number;
  mbPerSec: number;
  fsyncsPerSec: number;
  entriesPerFsync: number;
  fsyncMsMean: number;
  appendMsP50: number;
  appendMsP99: number;
}

async function runOne(entryBytes: number, appenders: number): Promise<Result> {
  const dir = await mkdtemp(join(parentDir, 'ledgerstream-wal-bench-'));
  const wal = await Wal.open({ dir, headerCodec: partitionHeaderCodec });
  const topicId = 'AAECAwQFBgcICQoLDA0ODw';
  const header: PartitionEntryHeader = { topicId, partition: 0, baseOffset: 0n };
  const payload = Buffer.alloc(entryBytes, 0x5a);
  const latenciesMs: number[] = [];
  const startMs = performance.now();
  const deadlineMs = startMs + durationMs;
  let appends = 0;
  const appender = async () => {
    while (performance.now() < deadlineMs) {
      const t0 = performance.now();
      await wal.append(header, payload);
      latenciesMs.push(performance.now() - t0);
      appends += 1;
    }
  };
  await Promise.all(Array.from({ length: appenders }, appender));
  const elapsedSec = (performance.now() - startMs) / 1000;
  const metrics = wal.metrics.snapshot();
  await wal.close();
  await rm(dir, { recursive: true, force: true });
  latenciesMs.sort((a, b) => a - b);
  const pick = (q: number) => {
    const index = Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length));
    return latenciesMs[index] ?? 0;
  };
  return {
    entryBytes,
    appenders,
    appendsPerSec: appends / elapsedSec,
    mbPerSec: (appends * entryBytes) / elapsedSec / 1e6,
    fsyncsPerSec: metrics.fsyncCount / elapsedSec,
    entriesPerFsync: metrics.entriesPerFsyncMean,
    fsyncMsMean: metrics.fsyncMsMean,
    appendMsP50: pick(0.5),
    appendMsP99: pick(0.99),
  };
}

function describeDisk(): string {
  try {
    const df = execFileSync('df', ['-T', parentDir], { encoding: 'utf8' });
    return df.trim().split('\n').at(-1) ?? '';
  } catch {
    return 'unknown';
  }
}

console.log(`WAL bench: ${durationMs / 1000}s per case in ${parentDir} (${describeDisk()})`);
console.log(`node ${process.version}; MB = 10^6 bytes of payload; latency = one append's await`);
const columns = ['entry', 'appenders', 'appends/s', 'MB/s', 'fsyncs/s', 'entries/fsync'];
columns.push('fsync ms', 'p50 ms', 'p99 ms');
console.log(columns.join('\t'));
for (const entryBytes of entrySizesBytes) {
  for (const appenders of concurrencies) {
    const r = await runOne(entryBytes, appenders);
    const cells = [
      `${r.entryBytes / 1024} KiB`,
      String(r.appenders),
      r.appendsPerSec.toFixed(0),
      r.mbPerSec.toFixed(1),
      r.fsyncsPerSec.toFixed(0),
      r.entriesPerFsync.toFixed(1),
      r.fsyncMsMean.toFixed(2),
      r.appendMsP50.toFixed(2),
      r.appendMsP99.toFixed(2),
    ];
    console.log(cells.join('\t'));
  }
}
