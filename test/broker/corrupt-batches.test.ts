/**
 * Batches whose CRC is right but whose records are not what the header says (issue 8, item 8)
 * are refused before any offset is assigned, as Kafka's broker refuses them after walking the
 * records: a gzip-flagged batch of random bytes gets CORRUPT_MESSAGE, a header that claims more
 * records than the batch holds gets INVALID_RECORD. Nothing is appended, the high watermark does
 * not move, and real consumers (kcat, kafkajs) read the good records on either side.
 * Raw frames against a real broker process; kcat and kafkajs as the readers.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { ErrorCode } from '../../protocol/generated/errors.js';
import {
  decodeProduceResponse, defaultProduceRequest, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import {
  decodeCreateTopicsResponse, defaultCreateTopicsRequest, defaultCreateTopicsRequestCreatableTopic,
  encodeCreateTopicsRequest,
} from '../../protocol/generated/messages/create-topics.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import {
  ATTRIBUTES_OFFSET, BATCH_HEADER_BYTES, BATCH_LENGTH_OFFSET, CompressionCodec, CRC_OFFSET,
  LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD_BYTES, RECORD_COUNT_OFFSET,
} from '../../protocol/records/batch-header.js';
import { crc32c } from '../../protocol/records/crc32c.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { consumeAll, highWatermark, kafkaClient } from '../helpers/kafka-client.js';
import { RawClient } from '../helpers/raw-client.js';

const run = promisify(execFile);

let broker: BrokerProcess;
let kafka: Kafka;
let client: RawClient;
beforeAll(async () => {
  broker = await startBroker();
  kafka = kafkaClient(broker.bootstrap);
  client = await RawClient.connect(broker.port);
});
afterAll(async () => {
  client?.close();
  await broker?.destroy();
});

async function createTopic(name: string, numPartitions = 1): Promise<void> {
  const req = defaultCreateTopicsRequest();
  req.topics = [{ ...defaultCreateTopicsRequestCreatableTopic(), name, numPartitions }];
  client.send(19, 5, (w) => encodeCreateTopicsRequest(w, 5, req));
  const res = decodeCreateTopicsResponse(decodeResponseFrame(19, 5, (await client.readFrame())!).body, 5);
  expect(res.topics[0]!.errorCode).toBe(ErrorCode.NONE);
}

type Produced = { errorCode: number; baseOffset: bigint };

/** One Produce request with one batch per partition (partition i gets batches[i]). */
async function produceEach(topic: string, batches: Buffer[]): Promise<Produced[]> {
  const req = defaultProduceRequest();
  req.acks = -1;
  req.timeoutMs = 10_000;
  const partitionData = batches.map((records, index) => ({ index, records, unknownTaggedFields: undefined }));
  req.topicData = [{ name: topic, partitionData, unknownTaggedFields: undefined }];
  client.send(0, 9, (w) => encodeProduceRequest(w, 9, req));
  const frame = await client.readFrame();
  expect(frame).not.toBeNull();
  const res = decodeProduceResponse(decodeResponseFrame(0, 9, frame!).body, 9);
  return res.responses[0]!.partitionResponses.map((p) => ({ errorCode: p.errorCode, baseOffset: p.baseOffset }));
}

async function produce(topic: string, records: Buffer): Promise<Produced> {
  return (await produceEach(topic, [records]))[0]!;
}

function batch(values: string[], compression: CompressionCodec): Promise<Buffer> {
  return encodeBatch({ records: values.map((v) => ({ key: null, value: Buffer.from(v) })),
    compression, baseTimestamp: Date.now() });
}

/** Recomputes batchLength and the CRC over whatever the test put in the batch. */
function reseal(buf: Buffer): Buffer {
  buf.writeInt32BE(buf.length - LOG_OVERHEAD_BYTES, BATCH_LENGTH_OFFSET);
  buf.writeUInt32BE(crc32c(buf.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  return buf;
}


async function kcatRead(topic: string): Promise<string[]> {
  const { stdout } = await run('kcat', ['-b', broker.bootstrap, '-t', topic, '-C', '-o', 'beginning',
    '-e', '-f', '%o %s\n'], { timeout: 30_000 });
  return stdout.trim().split('\n').filter((l) => l !== '');
}

describe('a batch that lies about its records is refused, and consumers are not blocked', () => {
  it('gzip-flagged random bytes with a correct CRC: CORRUPT_MESSAGE, nothing appended', async () => {
    const topic = 'gzip-garbage';
    await createTopic(topic);
    expect(await produce(topic, await batch(['before'], CompressionCodec.gzip)))
      .toEqual({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    const template = await batch(['x', 'y'], CompressionCodec.gzip);
    const garbage = reseal(Buffer.concat([template.subarray(0, BATCH_HEADER_BYTES), randomBytes(300)]));
    expect(await produce(topic, garbage)).toEqual({ errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1n });
    expect(await produce(topic, await batch(['after'], CompressionCodec.gzip)))
      .toEqual({ errorCode: ErrorCode.NONE, baseOffset: 1n });
    expect(await highWatermark(kafka, topic)).toBe(2);

    expect(await kcatRead(topic)).toEqual(['0 before', '1 after']);
    const read = await consumeAll(kafka, topic, 2);
    expect(read.map((r) => `${r.offset} ${r.value}`)).toEqual(['0 before', '1 after']);
  }, 120_000);

  it('a header claiming 2^31 - 1 records over three: INVALID_RECORD, high watermark unchanged', async () => {
    const topic = 'inflated-count';
    await createTopic(topic);
    expect(await produce(topic, await batch(['first'], CompressionCodec.none)))
      .toEqual({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    const before = await highWatermark(kafka, topic);
    for (const codec of [CompressionCodec.gzip, CompressionCodec.zstd, CompressionCodec.none]) {
      const lying = await batch(['a', 'b', 'c'].map((v) => v.repeat(100)), codec);
      // Uncompressed, a count the payload cannot hold (7 bytes a record at least) is refused by
      // the header check already; claim the most that passes it (47 for these ~110-byte records).
      const claimed = codec === CompressionCodec.none
        ? Math.floor((lying.length - BATCH_HEADER_BYTES) / 7) : 2 ** 31 - 1;
      lying.writeInt32BE(claimed, RECORD_COUNT_OFFSET);
      lying.writeInt32BE(claimed - 1, LAST_OFFSET_DELTA_OFFSET);
      expect(await produce(topic, reseal(lying)))
        .toEqual({ errorCode: ErrorCode.INVALID_RECORD, baseOffset: -1n });
    }
    expect(await highWatermark(kafka, topic)).toBe(before);
    expect(await produce(topic, await batch(['second'], CompressionCodec.lz4)))
      .toEqual({ errorCode: ErrorCode.NONE, baseOffset: BigInt(before) });
    expect(await kcatRead(topic)).toEqual(['0 first', '1 second']);
    expect(client.closed).toBe(false);
  }, 120_000);

  it('the compressed batches of one request share one inflate budget (64 MiB); bombs are refused', async () => {
    const topic = 'inflate-budget';
    await createTopic(topic, 3);
    // 40 MiB of zero-valued records each, a few KiB compressed: either fits the budget alone.
    const zeros = Array.from({ length: 40 }, () => ({ key: null, value: Buffer.alloc(1024 * 1024) }));
    const big = await encodeBatch({ records: zeros, compression: CompressionCodec.gzip, baseTimestamp: Date.now() });
    expect(big.length).toBeLessThan(1024 * 1024);
    const small = await batch(['small'], CompressionCodec.gzip);
    expect(await produceEach(topic, [big, big, small])).toEqual([
      { errorCode: ErrorCode.NONE, baseOffset: 0n },
      { errorCode: ErrorCode.INVALID_RECORD, baseOffset: -1n },
      { errorCode: ErrorCode.NONE, baseOffset: 0n },
    ]);
    // The next request has its own budget.
    expect(await produceEach(topic, [small, big])).toEqual([
      { errorCode: ErrorCode.NONE, baseOffset: 40n },
      { errorCode: ErrorCode.NONE, baseOffset: 0n },
    ]);
    // 100 MiB in ~100 KiB: refused alone, before it is inflated past the budget.
    const bomb = await encodeBatch({ records: [...zeros, ...zeros, ...zeros.slice(0, 20)],
      compression: CompressionCodec.gzip, baseTimestamp: Date.now() });
    expect(await produceEach(topic, [bomb])).toEqual([{ errorCode: ErrorCode.INVALID_RECORD, baseOffset: -1n }]);
    expect(await highWatermark(kafka, topic)).toBe(41);
    expect(client.closed).toBe(false);
  }, 120_000);
});
