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

export const partitionHeaderCodec: WalHeaderCodec<PartitionEntryHeader> = {
  encodedBytes: () => partitionHeaderBytes,

  encode(header, target, offsetBytes) {
    assert.ok(header.partition >= 0 && header.partition <= 0x7fff_ffff, 'partition is an i32');
    assert.ok(header.baseOffset >= 0n, 'baseOffset is not negative');
    const uuidOk = uuidToBytes(header.topicId, target, offsetBytes);
    assert.ok(uuidOk, `topicId is a uuid: ${header.topicId}`);
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
