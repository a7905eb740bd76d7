/**
 * The one error the codecs throw on bad input. It extends ProtocolDecodeError so a caller that
 * catches decode failures catches these too, and `kind` tells a zip bomb from damaged bytes.
 */
import assert from 'node:assert/strict';
import { ProtocolDecodeError } from '../../primitives/errors.js';

export type CodecName = 'gzip' | 'snappy' | 'lz4' | 'zstd';

/**
 * - 'output-limit': the payload would decompress to more than maxOutputBytes (checked before
 *   the output is allocated, or by a bounded decoder).
 * - 'corrupt': the payload is not valid for the codec or its framing.
 * - 'unsupported': valid but uses a feature we do not accept (LZ4 dictionaries, linked blocks).
 */
export type DecompressionFailure = 'output-limit' | 'corrupt' | 'unsupported';

/** Keeps ProtocolDecodeError's `name` (a literal type there); test with `instanceof`. */
export class DecompressionError extends ProtocolDecodeError {
  constructor(
    readonly kind: DecompressionFailure,
    readonly codec: CodecName,
    detail: string,
    offset = 0,
  ) {
    super(`${kind}: ${detail}`, `records.${codec}`, offset);
  }
}

export function outputLimitError(codec: CodecName, needBytes: number, maxOutputBytes: number) {
  const detail = `needs at least ${needBytes} bytes, limit is ${maxOutputBytes}`;
  return new DecompressionError('output-limit', codec, detail);
}

/** Wraps a native codec's exception (a plain Error with a library message) as 'corrupt'. */
export function corruptError(codec: CodecName, cause: unknown, offset = 0): DecompressionError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new DecompressionError('corrupt', codec, message, offset);
}

/** maxOutputBytes must be a usable Buffer length; a bad limit is a caller bug, not bad input. */
export function assertOutputLimit(maxOutputBytes: number): void {
  assert.ok(
    Number.isSafeInteger(maxOutputBytes) && maxOutputBytes >= 0,
    `maxOutputBytes must be a non-negative integer, got ${maxOutputBytes}`,
  );
}
