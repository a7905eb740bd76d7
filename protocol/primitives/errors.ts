/**
 * The one error type the codec throws. A decoder never lets a RangeError or an allocation failure
 * escape: every short read, bad length or malformed varint becomes a ProtocolDecodeError that names
 * the field being read (set by the generated code through `Reader.at`) and the byte offset.
 */
export class ProtocolDecodeError extends Error {
  override readonly name = 'ProtocolDecodeError';
  constructor(
    readonly reason: string,
    /** Dotted path of the field being decoded, e.g. "ProduceRequest.topicData.name". */
    readonly field: string,
    /** Byte offset into the buffer where the bad read started. */
    readonly offset: number,
  ) {
    super(`${field}: ${reason} at byte ${offset}`);
  }
}

/** Thrown by encoders when a value cannot be represented (a programming error, not bad input). */
export class ProtocolEncodeError extends Error {
  override readonly name = 'ProtocolEncodeError';
  constructor(readonly reason: string, readonly field: string) {
    super(`${field}: ${reason}`);
  }
}
