/**
 * Bad input never crashes the broker: garbage frames, oversized frames, wrong CRCs, unknown APIs
 * and versions get the error a Kafka broker gives (an error code, or a closed connection), and
 * other connections keep being served each time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { decodeApiVersionsResponse } from '../../protocol/generated/messages/api-versions.js';
import {
  defaultProduceRequest, encodeProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import { decodeResponseFrame } from '../../protocol/frame.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { apiVersions, createTopic, fetch, produceRecords } from '../helpers/raw-requests.js';

let broker: BrokerProcess;
beforeAll(async () => { broker = await startBroker({ settings: { requestBytesMax: 2 * 1024 * 1024 } }); });
afterAll(async () => broker?.destroy());

/** ApiVersions on a fresh connection: proves the broker still serves. */
async function stillServes(): Promise<void> {
  const c = await RawClient.connect(broker.port);
  const res = await apiVersions(c);
  expect(res.errorCode).toBe(ErrorCode.NONE);
  expect(res.apiKeys.length).toBeGreaterThan(10);
  c.close();
}

describe('malformed frames close only their own connection', () => {
  it('garbage bytes after a plausible size', async () => {
    const c = await RawClient.connect(broker.port);
    const garbage = Buffer.from('this is not a kafka request at all, just text');
    const frame = Buffer.alloc(4 + garbage.length);
    frame.writeInt32BE(garbage.length, 0);
    garbage.copy(frame, 4);
    c.write(frame);
    expect(await c.waitClosed()).toBe(true);
    await stillServes();
  });

  it('a frame larger than requestBytesMax is refused before its body is read', async () => {
    const c = await RawClient.connect(broker.port);
    const header = Buffer.alloc(4);
    header.writeInt32BE(200 * 1024 * 1024, 0);
    c.write(header);
    expect(await c.waitClosed()).toBe(true);
    await stillServes();
  });

  it('a negative frame size', async () => {
    const c = await RawClient.connect(broker.port);
    c.write(Buffer.from([0xff, 0xff, 0xff, 0xf0]));
    expect(await c.waitClosed()).toBe(true);
    await stillServes();
  });

  it('a truncated body inside a whole frame (array length larger than the frame)', async () => {
    const c = await RawClient.connect(broker.port);
    c.send(0, 7, (w) => { w.nullableString(null); w.int16(1); w.int32(1000); w.int32(0x7fffffff); });
    expect(await c.waitClosed()).toBe(true);
    await stillServes();
  });
});

describe('unknown APIs and versions', () => {
  it('an unknown API key closes the connection', async () => {
    const c = await RawClient.connect(broker.port);
    const frame = Buffer.alloc(4 + 10);
    frame.writeInt32BE(10, 0);
    frame.writeInt16BE(9999, 4);
    frame.writeInt16BE(0, 6);
    frame.writeInt32BE(7, 8);
    frame.writeInt16BE(-1, 12);
    c.write(frame);
    expect(await c.waitClosed()).toBe(true);
    await stillServes();
  });

  it('a Produce version below the advertised range closes the connection', async () => {
    const c = await RawClient.connect(broker.port);
    c.send(0, 2, (w) => encodeProduceRequest(w, 2, defaultProduceRequest()));
    expect(await c.waitClosed()).toBe(true);
    await stillServes();
  });

  it('ApiVersions above our range gets a v0 answer with UNSUPPORTED_VERSION and our ranges', async () => {
    const c = await RawClient.connect(broker.port);
    // A future v9 request (flexible, so header v2: null client id, then no tagged fields). Only
    // the header matters: the answer is v0 of the response.
    const frame = Buffer.alloc(4 + 11);
    frame.writeInt32BE(11, 0);
    frame.writeInt16BE(18, 4);
    frame.writeInt16BE(9, 6);
    frame.writeInt32BE(42, 8);
    frame.writeInt16BE(-1, 12);
    frame.writeUInt8(0, 14);
    c.write(frame);
    const res = await c.readFrame();
    expect(res).not.toBeNull();
    const { correlationId, body } = decodeResponseFrame(18, 0, res!);
    expect(correlationId).toBe(42);
    const decoded = decodeApiVersionsResponse(body, 0);
    expect(decoded.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect(decoded.apiKeys.find((k) => k.apiKey === 18)?.maxVersion).toBe(4);
    c.close();
  });
});

describe('record batches', () => {
  async function produce(c: RawClient, records: Buffer):
    Promise<{ errorCode: number; baseOffset: bigint }> {
    const { errorCode, baseOffset } = await produceRecords(c, 'crc-topic', records);
    return { errorCode, baseOffset };
  }

  it('a batch with a wrong CRC gets CORRUPT_MESSAGE, and nothing is appended', async () => {
    const c = await RawClient.connect(broker.port);
    expect(await createTopic(c, 'crc-topic')).toBe(ErrorCode.NONE);

    const good = await encodeBatch({ records: [{ key: null, value: Buffer.from('hello') }], baseTimestamp: Date.now() });
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 0xff;
    expect(await produce(c, bad)).toEqual({ errorCode: ErrorCode.CORRUPT_MESSAGE, baseOffset: -1n });
    // The good batch gets offset 0: the corrupt one took none.
    expect(await produce(c, good)).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    expect(c.closed).toBe(false);
    c.close();
    await stillServes();
  });
});

describe('partition errors in Fetch', () => {
  it('carry an empty record set, never a null one (librdkafka rejects size -1)', async () => {
    const c = await RawClient.connect(broker.port);
    const res = await fetch(c, 'no-such-topic', 0);
    const p = res.responses[0]!.partitions[0]!;
    expect(p.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(p.records).toEqual(Buffer.alloc(0));
    c.close();
  });
});
