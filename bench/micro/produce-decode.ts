/**
 * Produce request decode throughput: `decodeRequestFrame` + `decodeProduceRequest` over a 1 MiB
 * request of 1 KiB records, at v9 (flexible, compact lengths) and v7 (classic). A benchmark, not
 * a test: it prints figures and asserts nothing. Run with `npx tsx bench/micro/produce-decode.ts`.
 *
 * The codec keeps records as opaque zero-copy slices, so decoding cost is per partition (a few
 * fields and a length) and not per byte: MB/s here should be far above memory bandwidth, which is
 * the point. For scale, the same loop is also timed with validateBatch on every batch (a CRC-32C
 * over all the record bytes), the next thing the broker does with a Produce request.
 *
 * Then the check that follows validateBatch for every produced batch (checkBatchRecords:
 * decompress within the budget, walk the records), per codec, for a typical batch (16 records)
 * and a 1 MiB one (Kafka's default max.message.bytes): MB/s of batch bytes as sent and of the
 * records they hold, and µs per batch, which is how long the event loop is held.
 */
import { randomBytes } from 'node:crypto';
import { decodeRequestFrame, encodeRequestFrame } from '../../protocol/frame.js';
import { ApiKey } from '../../protocol/generated/api-keys.js';
import {
  type ProduceRequest, decodeProduceRequest, defaultProduceRequest, defaultProduceRequestPartitionProduceData,
  defaultProduceRequestTopicProduceData, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import { CompressionCodec, validateBatch } from '../../protocol/records/batch-header.js';
import { checkBatchRecords } from '../../protocol/records/batch-records.js';
import { encodeBatch, encodeRecords, type BatchRecord } from '../../protocol/records/record.js';
import { limits } from '../../storage/limits.js';
import { decodedRecords } from '../../protocol/primitives/record-set.js';

const REQUEST_BYTES_MIN = 1024 * 1024;
const RECORD_VALUE_BYTES = 1024;
/** Records per batch: one batch per partition, as clients send (Kafka requires it from v3). */
const RECORDS_PER_BATCH = 16;
const TOPICS = ['orders', 'payments', 'inventory', 'audit'];
const WARMUP_MS = 1000;
const ROUND_MS = 1000;
const ROUNDS = 5;

/** Keeps results observable so V8 cannot drop the measured work as dead code. */
let sink = 0;

/** A batch of RECORDS_PER_BATCH uncompressed 1 KiB records from an idempotent producer. */
async function batch(sequence: number): Promise<Buffer> {
  return encodeBatch({
    records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
      key: Buffer.from(`key-${sequence + i}`),
      value: randomBytes(RECORD_VALUE_BYTES),
      headers: [{ key: 'trace-id', value: randomBytes(8) }],
      timestampDelta: i,
    })),
    baseTimestamp: Date.now(),
    producerId: 4242n,
    producerEpoch: 0,
    baseSequence: sequence,
  });
}

/** A Produce request of at least 1 MiB: partitions spread over TOPICS, one batch each. */
async function produceRequest(): Promise<{ message: ProduceRequest; partitions: number }> {
  const message: ProduceRequest = { ...defaultProduceRequest(), acks: -1, timeoutMs: 30_000 };
  message.topicData = TOPICS.map((name) => ({ ...defaultProduceRequestTopicProduceData(), name }));
  let bytes = 0;
  let partitions = 0;
  while (bytes < REQUEST_BYTES_MIN) {
    const topic = message.topicData[partitions % TOPICS.length]!;
    const records = await batch(partitions * RECORDS_PER_BATCH);
    topic.partitionData.push({ ...defaultProduceRequestPartitionProduceData(), index: topic.partitionData.length, records });
    bytes += records.length;
    partitions++;
  }
  return { message, partitions };
}

/** Calls `body` until `ms` pass; returns calls made and nanoseconds taken. */
function timeFor(ms: number, body: () => void): { calls: number; ns: number } {
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let calls = 0;
  let now = start;
  while (now < end) {
    // Reading the clock once per 64 calls keeps its cost out of a ~microsecond body.
    for (let i = 0; i < 64; i++) body();
    calls += 64;
    now = process.hrtime.bigint();
  }
  return { calls, ns: Number(now - start) };
}

/** Median requests/s over ROUNDS timed rounds, after a warmup. */
function requestsPerSecond(body: () => void): number {
  timeFor(WARMUP_MS, body);
  const rates: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const { calls, ns } = timeFor(ROUND_MS, body);
    rates.push(calls / (ns / 1e9));
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(ROUNDS / 2)]!;
}

function line(label: string, perSecond: number, frameBytes: number): void {
  const mbPerSecond = (perSecond * frameBytes) / 1e6;
  const us = 1e6 / perSecond;
  console.log(`  ${label.padEnd(34)} ${Math.round(perSecond).toLocaleString('en').padStart(10)} requests/s`
    + `  ${Math.round(mbPerSecond).toLocaleString('en').padStart(10)} MB/s  (${us.toFixed(2)} µs/request)`);
}

async function main(): Promise<void> {
  const { message, partitions } = await produceRequest();
  console.log(`Produce request decode: ${partitions} partitions x 1 batch x ${RECORDS_PER_BATCH} records `
    + `of ${RECORD_VALUE_BYTES} B values; median of ${ROUNDS} rounds of ${ROUND_MS} ms; Node ${process.version}`);
  for (const version of [9, 7]) {
    const frame = encodeRequestFrame(ApiKey.Produce, version, 1, 'bench-producer',
      (w) => encodeProduceRequest(w, version, message)).subarray(4);
    console.log(`v${version}: ${(frame.length / 1024 / 1024).toFixed(3)} MiB frame`);

    const decode = () => {
      const { header, body } = decodeRequestFrame(frame);
      return decodeProduceRequest(body, header.requestApiVersion);
    };
    // The decoded request must hold every batch, whole, before its decode speed means anything.
    const decoded = decode();
    const batches = decoded.topicData.flatMap((t) => t.partitionData.map((p) => decodedRecords(p.records)));
    if (batches.length !== partitions || batches.some((b) => b === null || !validateBatch(b, 0).ok)) {
      throw new Error(`v${version}: decoded request does not hold ${partitions} valid batches`);
    }

    line('decode', requestsPerSecond(() => {
      sink += decode().topicData.length;
    }), frame.length);
    line('decode + validateBatch (CRC-32C)', requestsPerSecond(() => {
      for (const topic of decode().topicData) {
        for (const p of topic.partitionData) sink += validateBatch(decodedRecords(p.records)!, 0).ok ? 1 : 0;
      }
    }), frame.length);
  }
  await benchRecordCheck();
  if (sink === -1) console.log(sink);
}

/** ~1 KiB JSON-like values: compressible as real payloads are (random bytes would not be). */
function jsonRecords(count: number): BatchRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const fields = { id: randomBytes(8).toString('hex'), user: `user-${i % 97}`, amount: i * 37 % 1000,
      currency: 'EUR', tags: ['checkout', 'web', `region-${i % 5}`],
      note: randomBytes(300).toString('base64') };
    return { key: Buffer.from(`order-${i}`), value: Buffer.from(JSON.stringify(fields).padEnd(1024, ' ')),
      timestampDelta: i };
  });
}

async function benchRecordCheck(): Promise<void> {
  console.log('Produce batch check: validateBatch (CRC-32C) + checkBatchRecords (decompress + walk)');
  const codecs = Object.entries(CompressionCodec) as [string, CompressionCodec][];
  for (const recordCount of [16, 1000]) {
    const records = jsonRecords(recordCount);
    const plainBytes = encodeRecords(records).length;
    console.log(`  ${recordCount} records of ~1 KiB JSON-like values, ${plainBytes} B of records:`);
    for (const [name, codec] of codecs) {
      const batch = await encodeBatch({ records, compression: codec, baseTimestamp: Date.now() });
      const check = () => {
        const header = validateBatch(batch, 0, 'client');
        if (!header.ok) throw new Error(`bench batch invalid: ${header.detail}`);
        const walked = checkBatchRecords(header.header, header.sizeBytes, limits.produceUncompressedBytesMax);
        if (!walked.ok) throw new Error(`bench batch refused: ${walked.detail}`);
        sink += walked.uncompressedBytes;
      };
      const perSecond = requestsPerSecond(check);
      const wireMb = (perSecond * batch.length) / 1e6;
      const recordsMb = (perSecond * plainBytes) / 1e6;
      console.log(`    ${name.padEnd(7)} batch ${String(batch.length).padStart(8)} B `
        + `${Math.round(wireMb).toLocaleString('en').padStart(7)} MB/s as sent `
        + `${Math.round(recordsMb).toLocaleString('en').padStart(7)} MB/s of records `
        + `(${(1e6 / perSecond).toFixed(1)} µs/batch)`);
    }
  }
  // For scale: the header + CRC check alone on the uncompressed 1 MiB batch.
  const batch = await encodeBatch({ records: jsonRecords(1000), baseTimestamp: Date.now() });
  const perSecond = requestsPerSecond(() => { sink += validateBatch(batch, 0, 'client').ok ? 1 : 0; });
  console.log(`    validateBatch alone, uncompressed 1 MiB: ${Math.round((perSecond * batch.length) / 1e6)} MB/s`);
}

await main();
