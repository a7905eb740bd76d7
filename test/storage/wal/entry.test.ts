import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeEntryParts,
  entryFrameBytes,
  inspectEntry,
  stampEntryParts,
} from '../../../storage/wal/entry.js';
import { bufferHeaderCodec } from '../../../storage/wal/header-codec.js';
import { patchBaseOffset, wholeBatchCrc32c } from '../../../protocol/records/batch-header.js';
import { encodeBatch } from '../../../protocol/records/record.js';

const entryBytesMax = 4096;

function stamped(lsn: number, header: Buffer, payload: Buffer): Buffer {
  // The WAL writes head and payload as two buffers (one writev); on disk they are one run.
  const parts = encodeEntryParts(bufferHeaderCodec, header, payload);
  stampEntryParts(parts, lsn);
  return Buffer.concat([parts.head, parts.payload]);
}

describe('WAL entry format', () => {
  it('round-trips header, payload and an LSN above 2^32', () => {
    const lsn = 2 ** 40 + 7;
    const entry = stamped(lsn, Buffer.from('hdr'), Buffer.from('payload'));
    expect(entry.length).toBe(entryFrameBytes + 3 + 7);
    expect(entry.readUInt32BE(0)).toBe(entry.length - 8); // length counts version..payload
    const inspection = inspectEntry(entry, entry.length, lsn, entryBytesMax);
    expect(inspection).toMatchObject({ kind: 'entry', lsn, entryBytes: entry.length });
    if (inspection.kind !== 'entry') throw new Error('unreachable');
    expect(inspection.header.toString()).toBe('hdr');
    expect(inspection.payload.toString()).toBe('payload');
  });

  it('seals the same bytes from a payload CRC the caller knows (a batch\'s own CRC)', async () => {
    const batch = await encodeBatch({ baseOffset: 40, baseTimestamp: 1_700_000_000_000,
      records: [{ key: Buffer.from('k'), value: Buffer.alloc(3000, 7), timestampDelta: 0 }] });
    patchBaseOffset(batch, 0, 1234);
    const parts = encodeEntryParts(bufferHeaderCodec, Buffer.from('hdr'), batch,
      wholeBatchCrc32c(batch));
    stampEntryParts(parts, 9);
    expect(Buffer.concat([parts.head, parts.payload]))
      .toEqual(stamped(9, Buffer.from('hdr'), batch));
    const entry = Buffer.concat([parts.head, parts.payload]);
    expect(inspectEntry(entry, entry.length, 9, entryBytesMax)).toMatchObject({ kind: 'entry' });
  });

  it('asks for more bytes when the window is short but the file is not', () => {
    const entry = stamped(1, Buffer.alloc(0), Buffer.alloc(100));
    expect(inspectEntry(entry.subarray(0, 5), entry.length, 1, entryBytesMax)).toEqual({
      kind: 'need-bytes',
      bytes: entryFrameBytes,
    });
    expect(inspectEntry(entry.subarray(0, 50), entry.length, 1, entryBytesMax)).toEqual({
      kind: 'need-bytes',
      bytes: entry.length,
    });
  });

  it('classifies each kind of damage', () => {
    const entry = stamped(5, Buffer.alloc(0), Buffer.alloc(100, 1));
    const observe = (bytes: Buffer, lsn = 5) => {
      const inspection = inspectEntry(bytes, bytes.length, lsn, entryBytesMax);
      return inspection.kind === 'observed' ? inspection.observation : inspection.kind;
    };
    expect(observe(Buffer.alloc(0))).toBe('end');
    expect(observe(entry.subarray(0, entryFrameBytes - 1))).toBe('short-frame');
    expect(observe(Buffer.alloc(200))).toBe('length-invalid');
    expect(observe(entry.subarray(0, entry.length - 1))).toBe('short-body');
    const flipped = Buffer.from(entry);
    flipped[entry.length - 1]! ^= 1;
    expect(observe(flipped)).toBe('checksum-mismatch');
    expect(observe(entry, 6)).toBe('lsn-unexpected');
    const huge = Buffer.from(entry);
    huge.writeUInt32BE(entryBytesMax, 0);
    expect(observe(huge)).toBe('length-invalid');
  });

  it('never throws and never accepts random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (bytes, extra) => {
        const window = Buffer.from(bytes);
        const inspection = inspectEntry(window, window.length + extra, 1, entryBytesMax);
        expect(inspection.kind).not.toBe('entry');
      }),
    );
  });
});
