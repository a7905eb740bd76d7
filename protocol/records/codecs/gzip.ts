/**
 * gzip batch payloads through node:zlib (Kafka's GZIPOutputStream writes plain gzip members).
 * Bounded by zlib's own maxOutputLength, which stops inflating once the limit is passed instead
 * of growing the output: the allocation never exceeds the limit.
 */
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { assertOutputLimit, corruptError, DecompressionError } from './errors.js';

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

export async function gzipCompress(input: Buffer): Promise<Buffer> {
  return gzipAsync(input);
}

export async function gzipDecompress(input: Buffer, maxOutputBytes: number): Promise<Buffer> {
  assertOutputLimit(maxOutputBytes);
  let output: Buffer;
  try {
    output = await gunzipAsync(input, { maxOutputLength: zlibOutputLimit(maxOutputBytes) });
  } catch (err) {
    throw gunzipError(err, maxOutputBytes);
  }
  return checkedOutput(output, maxOutputBytes);
}

/**
 * As gzipDecompress, on the calling thread: for the Produce path, which must finish checking a
 * batch before it appends the next one (the async form would let a later request overtake).
 */
export function gzipDecompressSync(input: Buffer, maxOutputBytes: number): Buffer {
  assertOutputLimit(maxOutputBytes);
  let output: Buffer;
  try {
    output = zlib.gunzipSync(input, { maxOutputLength: zlibOutputLimit(maxOutputBytes) });
  } catch (err) {
    throw gunzipError(err, maxOutputBytes);
  }
  return checkedOutput(output, maxOutputBytes);
}

/** zlib wants a limit of at least 1; a 0 limit is then enforced by checkedOutput. */
function zlibOutputLimit(maxOutputBytes: number): number {
  return Math.min(Math.max(1, maxOutputBytes), bufferConstants.MAX_LENGTH);
}

function gunzipError(err: unknown, maxOutputBytes: number): DecompressionError {
  if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
    const detail = `inflates past the limit of ${maxOutputBytes} bytes`;
    return new DecompressionError('output-limit', 'gzip', detail);
  }
  return corruptError('gzip', err);
}

function checkedOutput(output: Buffer, maxOutputBytes: number): Buffer {
  if (output.length > maxOutputBytes) {
    const detail = `inflates to ${output.length} bytes, limit is ${maxOutputBytes}`;
    throw new DecompressionError('output-limit', 'gzip', detail);
  }
  return output;
}
