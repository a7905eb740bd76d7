/**
 * Walks the records section of a v2 batch (already decompressed) and checks that it holds
 * exactly what the header claims, without decoding keys, values or headers into objects: the
 * broker keeps batches opaque, but it must not store one that a consumer cannot read.
 *
 * Checked, as Kafka's DefaultRecordBatch iterator + DefaultRecord.readFrom do when its
 * LogValidator walks a produced batch (their failures are InvalidRecordException there):
 * - exactly `recordCount` records, and no bytes after the last one ("incorrect declared batch
 *   size");
 * - every varint well-formed (at most 5 bytes, varlongs 10) and inside its record;
 * - each record's length prefix equal to the bytes its fields take ("invalid record size");
 * - key, value and header lengths -1 (null; never for a header key) or within the record.
 * Stricter than Kafka: offset deltas must be 0..recordCount-1 in order. Kafka ignores them in an
 * uncompressed batch and rewrites a compressed batch whose deltas are off; we keep batches
 * opaque, so a batch whose deltas disagree with the offsets we assign is refused instead (every
 * real client writes 0..n-1).
 *
 * Pure and allocation-free: a failure is returned as a sentence, success as null.
 */

/** Fewest bytes a record body can take: attributes, timestampDelta, offsetDelta, key length,
 * value length, header count, one byte each. */
export const RECORD_BODY_BYTES_MIN = 6;
const VARINT_BYTES_MAX = 5;
const VARLONG_BYTES_MAX = 10;
/** A header takes at least two bytes (two empty lengths): bounds a header count cheaply. */
const HEADER_BYTES_MIN = 2;

/** Read position over one buffer; `bad` is sticky, as the protocol readers are. */
class Cursor {
  pos = 0;
  end: number;
  bad = false;

  constructor(readonly buf: Buffer) {
    this.end = buf.length;
  }

  /** A zigzag int32 varint, with Kafka's rule: more than 5 bytes is malformed. */
  varint(): number {
    let raw = 0;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.pos >= this.end) break;
      const b = this.buf[this.pos++]!;
      raw |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return (raw >>> 1) ^ -(raw & 1);
    }
    this.bad = true;
    return 0;
  }

  /** Steps over a varlong (timestampDelta), which the broker never needs the value of. */
  skipVarlong(): void {
    for (let i = 0; i < VARLONG_BYTES_MAX; i++) {
      if (this.pos >= this.end) break;
      if ((this.buf[this.pos++]! & 0x80) === 0) return;
    }
    this.bad = true;
  }

  /** Steps over a varint-length-prefixed byte string; null (-1) only when `nullable`. */
  skipBytes(nullable: boolean): void {
    const sizeBytes = this.varint();
    if (sizeBytes === -1 && nullable) return;
    if (sizeBytes < 0 || sizeBytes > this.end - this.pos) {
      this.bad = true;
      return;
    }
    this.pos += sizeBytes;
  }
}

/**
 * Checks `records` (the whole records section) against the header's `recordCount`. Returns why
 * the batch is unreadable, or null when every record was walked and the section is used up.
 */
export function walkRecords(records: Buffer, recordCount: number): string | null {
  if (!Number.isInteger(recordCount) || recordCount < 0) return `record count ${recordCount}`;
  const c = new Cursor(records);
  for (let index = 0; index < recordCount; index++) {
    if (c.pos >= records.length) {
      return `premature end of records: ${index} of ${recordCount} declared records present`;
    }
    const failure = walkRecord(c, index);
    if (failure !== null) return failure;
  }
  if (c.pos !== records.length) {
    const left = records.length - c.pos;
    return `${left} bytes remain after the ${recordCount} declared records`;
  }
  return null;
}

/** One record at `c.pos`; leaves `c.pos` after it. */
function walkRecord(c: Cursor, index: number): string | null {
  const start = c.pos;
  const sizeBytes = c.varint();
  if (c.bad) return `record ${index}: malformed length varint at byte ${start}`;
  if (sizeBytes < RECORD_BODY_BYTES_MIN || sizeBytes > c.end - c.pos) {
    return `record ${index}: length ${sizeBytes}, ${c.end - c.pos} bytes remain`;
  }
  const bodyStart = c.pos;
  const recordEnd = bodyStart + sizeBytes;
  const outerEnd = c.end;
  c.end = recordEnd; // no field may run past its record
  c.pos++; // attributes (unused in v2); sizeBytes >= RECORD_BODY_BYTES_MIN, so it is there
  c.skipVarlong(); // timestampDelta
  const offsetDelta = c.varint();
  if (!c.bad && offsetDelta !== index) {
    return `record ${index}: offset delta ${offsetDelta}, expected ${index}`;
  }
  c.skipBytes(true); // key
  c.skipBytes(true); // value
  const headerCount = c.varint();
  if (!c.bad && (headerCount < 0 || headerCount * HEADER_BYTES_MIN > c.end - c.pos)) {
    return `record ${index}: header count ${headerCount}`;
  }
  for (let h = 0; h < headerCount && !c.bad; h++) {
    c.skipBytes(false); // header key: never null
    c.skipBytes(true); // header value
  }
  if (c.bad) return `record ${index}: malformed record structure`;
  if (c.pos !== recordEnd) {
    return `record ${index}: length ${sizeBytes}, its fields take ${c.pos - bodyStart}`;
  }
  c.end = outerEnd;
  return null;
}
