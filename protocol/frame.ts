/**
 * Kafka frames: a 4-byte big-endian size, then a request or response header, then the body.
 * Sans-io: these functions turn bytes into headers and back; the broker's connection code owns
 * the socket and the limits on how many bytes it will buffer.
 */
import { ProtocolDecodeError } from './primitives/errors.js';
import { Reader } from './primitives/reader.js';
import { Writer } from './primitives/writer.js';
import { API_SPECS, requestHeaderVersion, responseHeaderVersion } from './generated/api-keys.js';
import {
  type RequestHeader, decodeRequestHeader, encodeRequestHeader, decodeResponseHeader,
  encodeResponseHeader, defaultRequestHeader, defaultResponseHeader,
} from './generated/headers.js';

export const FRAME_SIZE_BYTES = 4;
/** apiKey (2) + apiVersion (2) + correlationId (4): the least a request header can be. */
const REQUEST_HEADER_BYTES_MIN = 8;

export interface DecodedRequestHeader {
  header: RequestHeader;
  headerVersion: number;
  /** Reader positioned at the start of the body, bounded by the frame. */
  body: Reader;
}

/**
 * Decodes the header of one request frame (without its size prefix). An unknown API key still
 * decodes (as header v1) so the caller can answer or close; the body is left unread.
 */
export function decodeRequestFrame(frame: Buffer): DecodedRequestHeader {
  if (frame.length < REQUEST_HEADER_BYTES_MIN) {
    throw new ProtocolDecodeError(`request of ${frame.length} bytes is shorter than a header`,
      'RequestHeader', 0);
  }
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const r = new Reader(frame);
  const header = decodeRequestHeader(r, headerVersion);
  return { header, headerVersion, body: r };
}

/** The correlation id of a frame too broken to decode, so an error can still be matched up. */
export function peekCorrelationId(frame: Buffer): number | undefined {
  return frame.length >= REQUEST_HEADER_BYTES_MIN ? frame.readInt32BE(4) : undefined;
}

export function isKnownApi(apiKey: number): boolean {
  return API_SPECS.has(apiKey);
}

/**
 * Encodes a response frame: size, header, body. Returns chunks so that large record sets in the
 * body are written to the socket without being copied.
 */
export function encodeResponseFrame(apiKey: number, apiVersion: number, correlationId: number,
  encodeBody: (w: Writer) => void): Buffer[] {
  const w = new Writer(512);
  w.int32(0);
  const header = defaultResponseHeader();
  header.correlationId = correlationId;
  encodeResponseHeader(w, responseHeaderVersion(apiKey, apiVersion), header);
  encodeBody(w);
  w.patchInt32(0, w.length - FRAME_SIZE_BYTES);
  return w.toChunks();
}

/** Encodes a request frame, for clients (tests, benchmarks, tools). */
export function encodeRequestFrame(apiKey: number, apiVersion: number, correlationId: number,
  clientId: string | null, encodeBody: (w: Writer) => void): Buffer {
  const w = new Writer(512);
  w.int32(0);
  const header = defaultRequestHeader();
  header.requestApiKey = apiKey;
  header.requestApiVersion = apiVersion;
  header.correlationId = correlationId;
  header.clientId = clientId;
  encodeRequestHeader(w, requestHeaderVersion(apiKey, apiVersion), header);
  encodeBody(w);
  w.patchInt32(0, w.length - FRAME_SIZE_BYTES);
  return w.toBuffer();
}

/** Decodes a response frame's header (without size prefix); returns a reader on the body. */
export function decodeResponseFrame(apiKey: number, apiVersion: number, frame: Buffer):
  { correlationId: number; body: Reader } {
  const r = new Reader(frame);
  const header = decodeResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
  return { correlationId: header.correlationId, body: r };
}
