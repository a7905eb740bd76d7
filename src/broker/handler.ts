/**
 * The contract every API handler file fulfils. A handler translates wire ↔ domain only: it
 * validates, calls the services in the context, and maps outcomes to error codes. Decoding,
 * version checks and framing happen once, in dispatch.ts.
 */
import type { Reader } from '../../protocol/primitives/reader.js';
import type { Writer } from '../../protocol/primitives/writer.js';
import type { Logger } from 'pino';
import type { BrokerServices } from './services.js';
import type { KafkaPrincipal } from '../security/principal.js';
import type { SaslAuthenticator } from '../security/sasl-authenticator.js';

export interface RequestContext {
  services: BrokerServices;
  clientId: string | null;
  /** Remote address of the connection, for logs and DescribeGroups' clientHost. */
  clientHost: string;
  /** Who sent the request (User:ANONYMOUS until the connection authenticates). */
  principal: KafkaPrincipal;
  /** The listener the connection came in on. */
  listenerName: string;
  correlationId: number;
  /** The API's name ("Produce"), for authorization denials' log lines and metrics. */
  api: string;
  log: Logger;
  /** The connection's SASL exchange, on SASL_PLAINTEXT and SASL_SSL listeners only. */
  sasl?: SaslAuthenticator;
}

export interface ApiHandler<Req = any, Res = any> {
  apiKey: number;
  name: string;
  /** The version range we implement and test; advertised by ApiVersions. */
  minVersion: number;
  maxVersion: number;
  /**
   * A lower minimum to advertise than we serve, where clients read the advertised minimum as a
   * feature flag (librdkafka before 2.x compresses with gzip/snappy/lz4 only if Produce v0 is
   * advertised). Requests below `minVersion` are still refused. Kafka 4 does the same
   * (KAFKA-18659).
   */
  advertisedMinVersion?: number;
  decodeRequest(r: Reader, version: number): Req;
  encodeResponse(w: Writer, version: number, response: Res): void;
  /** Returns the response, or null when none is sent (Produce with acks=0). */
  handle(ctx: RequestContext, request: Req, version: number): Promise<Res | null> | Res | null;
  /**
   * The answer when `handle` (or encoding its response) threw: `errorCode` on everything the
   * request asked about, as Kafka's AbstractRequest.getErrorResponse. Without it the connection
   * is closed (an API whose error shape is not written yet).
   */
  errorResponse?(request: Req, version: number, errorCode: number): Res | null;
  /**
   * The answer instead of `handle`'s when the request put its client over a quota and the API
   * answers such a request without its data (Fetch: no records, as Kafka's KIP-219 fetch). The
   * dispatcher sets throttle_time_ms on it. `response` is what `handle` answered.
   */
  throttledResponse?(version: number, response: Res): Res;
}

/** errorResponse for an API whose response carries one top-level error code in every version. */
export function topLevelError<Res extends { errorCode: number }>(defaultResponse: () => Res):
  <Req>(request: Req, version: number, errorCode: number) => Res {
  return (_request, _version, errorCode) => ({ ...defaultResponse(), errorCode });
}

/** Helps a handler file declare itself with its generated codec types inferred. */
export function defineHandler<Req, Res>(handler: ApiHandler<Req, Res>): ApiHandler<Req, Res> {
  return handler;
}
