/**
 * One WAL entry on disk (sans-io: bytes in, bytes out):
 *
 *   offset  size  field
 *        0     4  length       u32, bytes from `version` to the end of the payload
 *        4     4  crc32c       u32, over `version` .. end of payload
 *        8     1  version      u8, currently 1
 *        9     8  lsn          u64, the entry's sequence number (exact in a double)
 *       17     2  headerBytes  u16, length of the caller's typed header
 *       19     h  header       caller-defined, see header-codec.ts
 *   19 + h     p  payload      opaque bytes
 *
 * The LSN sits inside the checksummed bytes so that a stale or misplaced entry with a good checksum
 * is still caught (recovery checks it against the position it expects).
 *
 * `inspectEntry` classifies the bytes at a position into one observation; what recovery does about
 * each observation lives in recovery.ts as a decision table, not here.
 */
import assert from 'node:assert/strict';
import { crc32c, crc32cCombine } from '../../protocol/records/crc32c.js';
import { walEntryFrameBytes } from '../limits.js';
import type { WalHeaderCodec } from './header-codec.js';

export const walEntryVersion = 1;
export const entryFrameBytes = walEntryFrameBytes;

const lengthBytes = 4;
const crcBytes = 4;
/** Everything before `version` is excluded from the checksum and from `length`. */
const prefixBytes = lengthBytes + crcBytes;
/** The smallest legal `length`: version + lsn + headerBytes with an empty header and payload. */
const bodyBytesMin = entryFrameBytes - prefixBytes;
const offsetVersion = 8;
const offsetLsn = 9;
const offsetHeaderBytes = 17;
const twoPow32 = 2 ** 32;

/**
 * The largest entry the format can express (the length field is a u32). Scans validate lengths
 * against this, not against the configured entryBytesMax: if that limit were lowered between
 * versions, older, larger entries would look invalid and recovery would cut acknowledged data
 * from the last segment. A garbage length is still caught: past the end of the file it is
 * `short-body`, inside the file the checksum fails; reads stay bounded by the file's size.
 */
export const entryBytesFormatMax = prefixBytes + 0xffff_ffff;

/**
 * An entry as the two buffers it is written from (one writev): `head`, the frame and header this
 * module encodes, and the caller's `payload`, not copied. A batch is the bulk of the bytes the
 * broker handles, and copying each one into a fresh entry buffer cost a copy and as much garbage
 * (issue 13). The caller must leave `payload` unchanged until the append settles (the partition
 * log's batches are patched before they are appended and never after).
 */
export interface EntryParts {
  head: Buffer;
  payload: Buffer;
  /**
   * The CRC-32C of `payload` when the caller already knows it (a record batch's follows from its
   * own verified CRC: wholeBatchCrc32c), so that sealing the entry does not read the payload
   * again; undefined to have it computed.
   */
  payloadCrc: number | undefined;
  /** head + payload bytes: the entry's size on disk. */
  length: number;
}

/**
 * Encodes an entry with LSN 0 and no checksum: the LSN is only known when group commit admits the
 * entry, so `stampEntryParts` fills both in then.
 */
export function encodeEntryParts<H>(codec: WalHeaderCodec<H>, header: H,
  payload: Buffer, payloadCrc?: number): EntryParts {
  const headerBytes = codec.encodedBytes(header);
  assert.ok(Number.isInteger(headerBytes) && headerBytes >= 0, 'header length is an integer');
  assert.ok(headerBytes <= 0xffff, 'header length fits a u16');
  const entryBytes = entryFrameBytes + headerBytes + payload.length;
  const head = Buffer.allocUnsafe(entryFrameBytes + headerBytes);
  head.writeUInt32BE(entryBytes - prefixBytes, 0);
  head.writeUInt32BE(0, lengthBytes);
  head.writeUInt8(walEntryVersion, offsetVersion);
  head.writeUInt32BE(0, offsetLsn);
  head.writeUInt32BE(0, offsetLsn + 4);
  head.writeUInt16BE(headerBytes, offsetHeaderBytes);
  // Zero first so a codec that writes fewer bytes than it promised cannot leak stale memory.
  head.fill(0, entryFrameBytes, entryFrameBytes + headerBytes);
  codec.encode(header, head, entryFrameBytes);
  return { head, payload, payloadCrc, length: entryBytes };
}

/**
 * Writes the LSN and then the checksum (which covers the LSN), run over both buffers: the bytes
 * on disk are those of one buffer holding head then payload.
 */
export function stampEntryParts(entry: EntryParts, lsn: number): void {
  const { head } = entry;
  assert.ok(Number.isSafeInteger(lsn) && lsn >= 1, `lsn is a positive safe integer: ${lsn}`);
  assert.equal(head.readUInt32BE(0), entry.length - prefixBytes, 'entry length field matches');
  assert.equal(head.length + entry.payload.length, entry.length, 'the parts make the entry');
  head.writeUInt32BE(Math.floor(lsn / twoPow32), offsetLsn);
  head.writeUInt32BE(lsn % twoPow32, offsetLsn + 4);
  const headCrc = crc32c(head.subarray(offsetVersion));
  const crc = entry.payloadCrc === undefined ? crc32c(entry.payload, headCrc)
    : crc32cCombine(headCrc, entry.payloadCrc, entry.payload.length);
  head.writeUInt32BE(crc, lengthBytes);
}

/**
 * What the bytes at one position are. `end` means no bytes remain; every value other than
 * `valid` and `end` is a reason the entry cannot be used. The checks run in the order listed, so
 * e.g. `version-unknown` implies the checksum matched.
 */
export type EntryObservation =
  | 'valid'
  | 'end'
  | 'short-frame' // fewer bytes remain than a frame needs
  | 'length-invalid' // length field below the minimum or above the maximum (zeros land here)
  | 'short-body' // length field points past the end of the file
  | 'checksum-mismatch'
  | 'version-unknown' // checksum matched: written by a newer format
  | 'lsn-unexpected' // checksum matched: not the entry that belongs at this position
  | 'header-invalid'; // checksum matched: header length exceeds the entry

export type Inspection =
  | { kind: 'need-bytes'; bytes: number }
  | { kind: 'observed'; observation: Exclude<EntryObservation, 'valid'> }
  | { kind: 'entry'; entryBytes: number; lsn: number; header: Buffer; payload: Buffer };

/**
 * Classifies the entry starting at `window[0]`. `fileBytesRemaining` counts bytes from the same
 * position to the end of the file; the window may hold fewer (then the answer can be `need-bytes`).
 * Header and payload are views of `window`.
 */
export function inspectEntry(
  window: Buffer,
  fileBytesRemaining: number,
  lsnExpected: number,
  entryBytesMax: number,
): Inspection {
  assert.ok(window.length <= fileBytesRemaining, 'window lies inside the file');
  assert.ok(Number.isSafeInteger(lsnExpected) && lsnExpected >= 1, 'expected lsn is valid');
  if (fileBytesRemaining === 0) return observed('end');
  if (fileBytesRemaining < entryFrameBytes) return observed('short-frame');
  if (window.length < entryFrameBytes) return { kind: 'need-bytes', bytes: entryFrameBytes };
  const bodyBytes = window.readUInt32BE(0);
  const entryBytes = prefixBytes + bodyBytes;
  if (bodyBytes < bodyBytesMin || entryBytes > entryBytesMax) return observed('length-invalid');
  if (entryBytes > fileBytesRemaining) return observed('short-body');
  if (window.length < entryBytes) return { kind: 'need-bytes', bytes: entryBytes };
  return inspectChecksummed(window.subarray(0, entryBytes), lsnExpected);
}

function inspectChecksummed(entry: Buffer, lsnExpected: number): Inspection {
  assert.ok(entry.length >= entryFrameBytes, 'whole frame present');
  if (crc32c(entry.subarray(offsetVersion)) !== entry.readUInt32BE(lengthBytes)) {
    return observed('checksum-mismatch');
  }
  if (entry.readUInt8(offsetVersion) !== walEntryVersion) return observed('version-unknown');
  const lsn = entry.readUInt32BE(offsetLsn) * twoPow32 + entry.readUInt32BE(offsetLsn + 4);
  if (lsn !== lsnExpected) return observed('lsn-unexpected');
  const headerBytes = entry.readUInt16BE(offsetHeaderBytes);
  const headerEnd = entryFrameBytes + headerBytes;
  if (headerEnd > entry.length) return observed('header-invalid');
  return {
    kind: 'entry',
    entryBytes: entry.length,
    lsn,
    header: entry.subarray(entryFrameBytes, headerEnd),
    payload: entry.subarray(headerEnd),
  };
}

function observed(observation: Exclude<EntryObservation, 'valid'>): Inspection {
  return { kind: 'observed', observation };
}
