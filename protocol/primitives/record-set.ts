/**
 * The value of a `records` field. Decoders always produce one Buffer (a view of the frame).
 * Encoders also take RecordParts: several buffers written back to back without joining them
 * first, so a Fetch response carries a partition's batches, each still in the log's memory,
 * straight to the socket (one writev) instead of through a copy into one buffer.
 */
export class RecordParts {
  readonly length: number;

  constructor(readonly parts: readonly Buffer[]) {
    let n = 0;
    for (const p of parts) n += p.length;
    this.length = n;
  }
}

export type RecordSet = Buffer | RecordParts;

/** The bytes of a record set as one Buffer (joins RecordParts: for tests and tools, not hot paths). */
export function recordSetBytes(v: RecordSet): Buffer {
  return v instanceof RecordParts ? Buffer.concat(v.parts as Buffer[], v.length) : v;
}

/**
 * A decoded `records` field as the Buffer it always is: decoders never produce RecordParts, so
 * anything else here is a bug (a request object built in-process handed to the broker).
 */
export function decodedRecords(v: RecordSet | null): Buffer | null {
  if (v !== null && !Buffer.isBuffer(v)) throw new TypeError('records of a decoded message must be one Buffer');
  return v;
}
