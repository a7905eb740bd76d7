/**
 * Micro-benchmarks of the protocol layer (a benchmark, not a test: it asserts nothing about
 * speed). Run with `npx tsx bench/micro/protocol.ts`, or `npm run bench:micro`.
 *
 * Each section warms up (so V8 has optimized the code) and then times a fixed wall-clock window;
 * figures are the mean over the window. Sections are listed in SECTIONS at the bottom: add a new
 * one (e.g. Produce request decode MB/s) by writing an async function and appending it there.
 */
import { randomBytes } from 'node:crypto';
import {
  patchBaseOffset,
  patchPartitionLeaderEpoch,
  validateBatch,
  ATTRIBUTES_OFFSET,
} from '../../protocol/records/batch-header.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import { encodeBatch } from '../../protocol/records/record.js';

const WARMUP_MS = 500;
const MEASURE_MS = 2000;

interface Timing {
  iterations: number;
  nsPerIteration: number;
}

/** Keeps results observable so V8 cannot drop the measured work as dead code. */
let sink = 0;

/** Runs `body` in batches of `batchSize` calls until `durationMs` passes. */
function timeFor(durationMs: number, batchSize: number, body: (i: number) => void): Timing {
  const endNs = process.hrtime.bigint() + BigInt(durationMs) * 1_000_000n;
  const startNs = process.hrtime.bigint();
  let iterations = 0;
  let nowNs = startNs;
  while (nowNs < endNs) {
    for (let i = 0; i < batchSize; i++) body(iterations + i);
    iterations += batchSize;
    nowNs = process.hrtime.bigint();
  }
  return { iterations, nsPerIteration: Number(nowNs - startNs) / iterations };
}

function measure(batchSize: number, body: (i: number) => void): Timing {
  timeFor(WARMUP_MS, batchSize, body);
  return timeFor(MEASURE_MS, batchSize, body);
}

function report(label: string, value: string, timing: Timing): void {
  console.log(`  ${label.padEnd(44)} ${value.padStart(14)}   (${timing.iterations} iterations)`);
}

// ---- Section: CRC-32C throughput -------------------------------------------------------------

async function benchCrc32c(): Promise<void> {
  console.log('CRC-32C (@node-rs/crc32)');
  const bufferBytes = 1024 * 1024;
  const buf = randomBytes(bufferBytes);
  const timing = measure(16, () => {
    sink ^= crc32c(buf);
  });
  const gbPerSecond = bufferBytes / timing.nsPerIteration; // bytes/ns == GB/s
  report('crc32c over 1 MiB buffers', `${gbPerSecond.toFixed(2)} GB/s`, timing);
}

// ---- Section: record batch header validate + patch -------------------------------------------

async function benchBatchValidatePatch(): Promise<void> {
  console.log('Record batch v2 header');
  const recordCount = 16;
  const valueBytes = 1024;
  const batch = await encodeBatch({
    records: Array.from({ length: recordCount }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: randomBytes(valueBytes),
    })),
    baseTimestamp: Date.now(),
    producerId: 1000n,
    producerEpoch: 0,
    baseSequence: 0,
  });
  console.log(`  batch: ${recordCount} records of ${valueBytes} B, ${batch.length} bytes total`);

  const validatePatch = measure(1000, (i) => {
    const result = validateBatch(batch, 0, 'client');
    if (!result.ok) throw new Error(`bench batch invalid: ${result.reason}`);
    patchBaseOffset(batch, 0, i);
    patchPartitionLeaderEpoch(batch, 0, 7);
    sink ^= result.sizeBytes;
  });
  const validateNs = validatePatch.nsPerIteration.toFixed(0);
  report('validate (incl. CRC) + patch, ns/batch', validateNs, validatePatch);

  const covered = batch.subarray(ATTRIBUTES_OFFSET);
  const crcOnly = measure(1000, () => {
    sink ^= crc32c(covered);
  });
  report('CRC-32C alone on the same bytes, ns/batch', crcOnly.nsPerIteration.toFixed(0), crcOnly);
  const mbPerSecond = (batch.length / validatePatch.nsPerIteration) * 1000;
  report('validate + patch throughput', `${mbPerSecond.toFixed(0)} MB/s`, validatePatch);
}

// ---- Sections to run, in order. Append new sections here. -------------------------------------

const SECTIONS: Array<() => Promise<void>> = [benchCrc32c, benchBatchValidatePatch];

async function main(): Promise<void> {
  console.log(`node ${process.version}, warmup ${WARMUP_MS} ms, measure ${MEASURE_MS} ms`);
  for (const section of SECTIONS) await section();
  if (sink === 0.5) console.log('unreachable'); // reads sink so it stays live
}

await main();
