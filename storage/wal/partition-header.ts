/**
 * The header the broker puts on each WAL entry: which partition the record batch belongs to and
 * the base offset the broker assigned it. The payload is the record batch bytes, unchanged.
 *
 * Layout (28 bytes, big-endian like Kafka): topicId [16 raw uuid bytes] | partition i32 |
 * baseOffset i64. The topic id, not the name, because a name can be deleted and re-created and
 * replay must not deliver the old topic's batches to the new one.
 */
import assert from 'node:assert/strict';
import { uuidFromBytes, uuidToBytes } from '../../protocol/primitives/uuid.js';
import type { WalHeaderCodec } from './header-codec.js';

export interface PartitionEntryHeader {
  /** Kafka topic id, base64url as Kafka prints it. */
  topicId: string;
  partition: number;
  baseOffset: bigint;
}

const partitionHeaderBytes = 16 + 4 + 8;

/**
 * Topic ids already checked, as their 16 bytes. Every entry names one, and turning the base64url
 * string into bytes (decode, re-encode to check, copy) for each entry was a third of the event
 * loop's time in a Produce to 5,000 partitions (issue 13's stall profile). Bounded: emptied when
 * full, so many topics cost a re-decode now and then, never memory.
 */
const topicIdCacheMax = 4096;
const topicIdBytes = new Map<string, Buffer>();

function topicIdToBytes(topicId: string): Buffer {
  const cached = topicIdBytes.get(topicId);
  if (cached !== undefined) return cached;
  const bytes = Buffer.alloc(16);
  assert.ok(uuidToBytes(topicId, bytes, 0), `topicId is a uuid: ${topicId}`);
  if (topicIdBytes.size >= topicIdCacheMax) topicIdBytes.clear();
  topicIdBytes.set(topicId, bytes);
  return bytes;
}

/** Bytes of a header that name its partition: the topic id and the partition. */
const partitionKeyBytes = 16 + 4;

/**
 * A raw header's partition as a map key, without decoding it: a reader that wants a few
 * partitions of a WAL (readWalOnce's `wanted`) looks each entry up by this. Any other length is
 * not a partition header and gets a key no partition has.
 */
export function partitionKeyOfHeader(header: Buffer): string {
  if (header.length !== partitionHeaderBytes) return '';
  return header.toString('latin1', 0, partitionKeyBytes);
}

/** The key partitionKeyOfHeader gives the headers of this partition's entries. */
export function partitionKey(topicId: string, partition: number): string {
  assert.ok(partition >= 0 && partition <= 0x7fff_ffff, 'partition is an i32');
  const key = Buffer.alloc(partitionKeyBytes);
  topicIdToBytes(topicId).copy(key, 0);
  key.writeInt32BE(partition, 16);
  return key.toString('latin1');
}

export const partitionHeaderCodec: WalHeaderCodec<PartitionEntryHeader> = {
  encodedBytes: () => partitionHeaderBytes,

  encode(header, target, offsetBytes) {
    assert.ok(header.partition >= 0 && header.partition <= 0x7fff_ffff, 'partition is an i32');
    assert.ok(header.baseOffset >= 0n, 'baseOffset is not negative');
    topicIdToBytes(header.topicId).copy(target, offsetBytes);
    target.writeInt32BE(header.partition, offsetBytes + 16);
    target.writeBigInt64BE(header.baseOffset, offsetBytes + 20);
  },

  decode(source) {
    assert.equal(source.length, partitionHeaderBytes, 'partition header length');
    const header: PartitionEntryHeader = {
      topicId: uuidFromBytes(source, 0),
      partition: source.readInt32BE(16),
      baseOffset: source.readBigInt64BE(20),
    };
    assert.ok(header.partition >= 0 && header.baseOffset >= 0n, 'decoded header in range');
    return header;
  },
};
