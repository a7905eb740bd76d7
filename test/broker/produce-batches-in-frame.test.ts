/**
 * When a produced batch may stay in its request frame instead of being copied
 * (append-partition.ts, batchesMayStayInFrame): only when the request's batches make up at least
 * half of the memory the frame's views keep alive.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeProduceRequest, defaultProduceRequest, encodeProduceRequest, type ProduceRequest,
} from '../../protocol/generated/messages/produce.js';
import { Reader } from '../../protocol/primitives/reader.js';
import { Writer } from '../../protocol/primitives/writer.js';
import { encodeBatch } from '../../protocol/records/record.js';
import { batchesMayStayInFrame } from '../../src/broker/produce/append-partition.js';

const VERSION = 9;

async function requestOf(partitions: number, valueBytes: number): Promise<ProduceRequest> {
  const req = defaultProduceRequest();
  req.acks = -1;
  req.topicData = [{ name: 't', unknownTaggedFields: undefined, partitionData: [] }];
  for (let index = 0; index < partitions; index++) {
    const records = await encodeBatch({ baseTimestamp: 1,
      records: [{ key: null, value: Buffer.alloc(valueBytes, index) }] });
    req.topicData[0]!.partitionData.push({ index, records, unknownTaggedFields: undefined });
  }
  return req;
}

/** Encodes `req` and decodes it again from a frame at `at` in a buffer of `memoryBytes`. */
function decodedFrom(req: ProduceRequest, memoryBytes: number, at = 0): ProduceRequest {
  const w = new Writer();
  encodeProduceRequest(w, VERSION, req);
  const bytes = w.toBuffer();
  // Its own ArrayBuffer, as a socket read or an assembled frame has (not Node's shared pool).
  const memory = Buffer.from(new ArrayBuffer(Math.max(memoryBytes, at + bytes.length)));
  bytes.copy(memory, at);
  return decodeProduceRequest(new Reader(memory, at, at + bytes.length), VERSION);
}

describe('batchesMayStayInFrame', () => {
  it('keeps the batches of a frame that is mostly batches in it', async () => {
    const req = await requestOf(16, 16 * 1024);
    expect(batchesMayStayInFrame(decodedFrom(req, 0))).toBe(true);
  });

  it('copies a batch that is a small part of the memory its frame sits in', async () => {
    // A small request in a socket read that also holds other requests' bytes.
    const req = await requestOf(1, 100);
    expect(batchesMayStayInFrame(decodedFrom(req, 64 * 1024, 1000))).toBe(false);
  });

  it('counts every partition of the request against the frame', async () => {
    // 4 batches of ~4 KiB: each alone is a quarter of the frame, together most of it.
    const req = await requestOf(4, 4096);
    const decoded = decodedFrom(req, 0);
    const first = decoded.topicData[0]!.partitionData[0]!.records as Buffer;
    const frameBytes = first.buffer.byteLength;
    expect(batchesMayStayInFrame(decoded)).toBe(true);
    expect(batchesMayStayInFrame(decodedFrom(req, 3 * frameBytes))).toBe(false);
  });

  it('copies batches that are not views of one frame (a request built in-process)', async () => {
    const req = await requestOf(2, 4096);
    expect(batchesMayStayInFrame(req)).toBe(false);
  });
});
