/**
 * Every record batch of a topic's partitions as the broker stores them, through a raw Fetch v12
 * (by topic name): partition, base offset, record count, compression codec and producer id read
 * from the batch headers. The compatibility suites use it to check what a foreign client really
 * wrote (e.g. that its zstd batches are stored compressed).
 */
import { decodeResponseFrame } from '../../protocol/frame.js';
import {
  decodeFetchResponse, defaultFetchRequest, defaultFetchRequestFetchPartition, defaultFetchRequestFetchTopic,
  encodeFetchRequest,
} from '../../protocol/generated/messages/fetch.js';
import { decodedRecords } from '../../protocol/primitives/record-set.js';
import { RawClient } from './raw-client.js';

export interface StoredBatch { partition: number; baseOffset: bigint; records: number; codec: number; producerId: bigint }

/** Every record batch of the topic's partitions, as stored (raw Fetch v12, by topic name). */
export async function fetchStoredBatches(port: number, topic: string, partitions: number): Promise<StoredBatch[]> {
  const c = await RawClient.connect(port);
  try {
    const req = defaultFetchRequest();
    req.maxBytes = 64 * 1024 * 1024;
    const t = defaultFetchRequestFetchTopic();
    t.topic = topic;
    for (let p = 0; p < partitions; p++) {
      const fp = defaultFetchRequestFetchPartition();
      fp.partition = p;
      fp.partitionMaxBytes = 16 * 1024 * 1024;
      t.partitions.push(fp);
    }
    req.topics = [t];
    c.send(1, 12, (w) => encodeFetchRequest(w, 12, req));
    const frame = await c.readFrame();
    if (frame === null) throw new Error('broker closed the connection on a Fetch');
    const res = decodeFetchResponse(decodeResponseFrame(1, 12, frame).body, 12);
    const batches: StoredBatch[] = [];
    for (const part of res.responses[0]!.partitions) {
      if (part.errorCode !== 0) throw new Error(`fetch ${topic}-${part.partitionIndex}: error ${part.errorCode}`);
      const buf = decodedRecords(part.records) ?? Buffer.alloc(0);
      for (let at = 0; at + 61 <= buf.length;) {
        const size = 12 + buf.readInt32BE(at + 8);
        if (at + size > buf.length) break; // a partial batch at the end
        batches.push({
          partition: part.partitionIndex, baseOffset: buf.readBigInt64BE(at),
          records: buf.readInt32BE(at + 57), codec: buf.readInt16BE(at + 21) & 0x07, producerId: buf.readBigInt64BE(at + 43),
        });
        at += size;
      }
    }
    return batches;
  } finally {
    c.close();
  }
}
