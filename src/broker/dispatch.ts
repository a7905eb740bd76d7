/**
 * Turns one request frame into one response frame. The only place that decodes requests, checks
 * versions, and catches handler exceptions. Outcomes:
 *  - a response frame (chunks) to send;
 *  - `null`: no response (acks=0 Produce);
 *  - a `CloseConnection`: the request is unanswerable (undecodable header or body, unknown API,
 *    unsupported version of an API other than ApiVersions), which is what Kafka's broker does.
 * A handler that throws, or whose response fails to encode, is answered with its API's error
 * response (UNKNOWN_SERVER_ERROR on everything asked about), built from the request.
 */
import type { Logger } from 'pino';
import assert from 'node:assert/strict';
import { API_SPECS, ApiKey } from '../../protocol/generated/api-keys.js';
import { ErrorCode } from '../../protocol/generated/errors.js';
import { decodeRequestFrame, encodeResponseFrame } from '../../protocol/frame.js';
import { ProtocolDecodeError } from '../../protocol/primitives/errors.js';
import { auditLine, isAudited } from './audit.js';
import type { ApiHandler, RequestContext } from './handler.js';
import { throttleRequest, type Throttle } from './request-throttle.js';
import { apiVersionsResponse } from './handlers/18-api-versions.js';
import type { BrokerServices } from './services.js';
import type { ConnectionSession } from '../security/principal.js';
import type { SaslAuthenticator } from '../security/sasl-authenticator.js';

export class CloseConnection {
  /** `finalAnswer`: sent before the close (a failed authentication's answer). */
  constructor(readonly reason: string, readonly finalAnswer: Buffer[] | null = null) {}
}

export type DispatchResult = Buffer[] | null | CloseConnection;

/** What a connection lends the dispatcher for one request. */
export interface DispatchHooks {
  sasl?: SaslAuthenticator | undefined;
  onThrottle?: (throttleMs: number) => void;
}

export interface RequestInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

export class Dispatcher {
  private readonly handlers = new Map<number, ApiHandler>();

  constructor(handlers: readonly ApiHandler[], private readonly services: BrokerServices,
    private readonly log: Logger) {
    for (const h of handlers) {
      assert(!this.handlers.has(h.apiKey), `duplicate handler for api ${h.apiKey}`);
      const spec = API_SPECS.get(h.apiKey);
      assert(spec !== undefined, `handler for unknown api ${h.apiKey}`);
      assert(h.minVersion >= spec.minVersion && h.maxVersion <= spec.maxVersion
        && h.minVersion <= h.maxVersion, `${h.name}: v${h.minVersion}-${h.maxVersion} outside spec`);
      this.handlers.set(h.apiKey, h);
    }
  }

  /** The registered handlers, in key order (ApiVersions answers from these). */
  registered(): ApiHandler[] {
    return [...this.handlers.values()].sort((a, b) => a.apiKey - b.apiKey);
  }

  /**
   * `hooks.sasl`: the connection's authenticator, until it has authenticated (only ApiVersions
   * and SASL are served before). `hooks.onThrottle` hears how long the connection must read
   * nothing more when the request put its client over a quota (request-throttle.ts); the answer
   * already carries throttle_time_ms.
   */
  async dispatch(frame: Buffer, session: ConnectionSession, onInfo?: (info: RequestInfo) => void,
    hooks: DispatchHooks = {}): Promise<DispatchResult> {
    const { sasl, onThrottle } = hooks;
    const startNs = process.hrtime.bigint();
    let decoded;
    try {
      decoded = decodeRequestFrame(frame);
    } catch (err) {
      return this.undecodable('request header', err);
    }
    const { header, body } = decoded;
    const { requestApiKey: apiKey, requestApiVersion: version, correlationId } = header;
    onInfo?.({ apiKey, apiVersion: version, correlationId });
    const handler = this.handlers.get(apiKey);
    const refused = sasl?.refusal(apiKey, this.services.nowMs()) ?? null;
    if (refused !== null) {
      // Kafka's SaslServerAuthenticator: only ApiVersions and SASL before authentication.
      await sasl!.refuse(refused, handler?.name ?? `api key ${apiKey}`);
      return new CloseConnection(`${handler?.name ?? `api key ${apiKey}`}: ${refused}`);
    }
    if (handler === undefined) return new CloseConnection(`unsupported api key ${apiKey}`);
    if (version < handler.minVersion || version > handler.maxVersion) {
      if (apiKey !== ApiKey.ApiVersions) {
        return new CloseConnection(`${handler.name} v${version} not supported`);
      }
      // A client newer than us asks ApiVersions at its own version: answer at v0, as Kafka does,
      // with UNSUPPORTED_VERSION and our ranges, so it can retry at a version we know.
      const res = apiVersionsResponse(this.registered().map((h) => ({ apiKey: h.apiKey,
        minVersion: h.advertisedMinVersion ?? h.minVersion, maxVersion: h.maxVersion })),
      ErrorCode.UNSUPPORTED_VERSION);
      return encodeResponseFrame(apiKey, 0, correlationId,
        (w) => handler.encodeResponse(w, 0, res));
    }
    let request: unknown;
    try {
      // Trailing bytes after the body are ignored, as Kafka's broker ignores them.
      request = handler.decodeRequest(body, version);
    } catch (err) {
      return this.undecodable(`${handler.name} v${version}`, err);
    }
    const ctx: RequestContext = {
      services: this.services, clientId: header.clientId, clientHost: session.clientHost,
      principal: session.principal, listenerName: session.listenerName, correlationId,
      api: handler.name, log: this.log,
      ...(sasl !== undefined ? { sasl } : {}),
    };
    let response: unknown;
    let handledNs = 0n;
    try {
      const pending = handler.handle(ctx, request, version);
      handledNs = process.hrtime.bigint() - startNs; // decode and the handler's first run
      response = await pending;
    } catch (err) {
      // Operating errors travel as error codes; an exception here is a bug. The client still
      // gets an answer (UNKNOWN_SERVER_ERROR) where the API has an error shape, as from Kafka.
      this.log.error({ err, api: handler.name, version }, 'handler failed');
      return this.errorAnswer(handler, request, version, correlationId);
    }
    if (isAudited(apiKey, request)) auditLine(this.log, handler.name, ctx, request, response);
    let answer: Buffer[] | null;
    const encodeStartNs = process.hrtime.bigint();
    try {
      answer = response === null ? null : encodeResponseFrame(apiKey, version, correlationId,
        (w) => handler.encodeResponse(w, version, response));
    } catch (err) {
      // A response the encoder refuses (a bug in how it was built): answer from the request.
      this.log.error({ err, api: handler.name, version }, 'response encoding failed');
      return this.errorAnswer(handler, request, version, correlationId);
    }
    // A failed authentication's answer goes out, then the connection closes (SASL is exempt
    // from quotas, so nothing here is throttled).
    const closeReason = sasl?.takeCloseReason() ?? null;
    if (closeReason !== null) return new CloseConnection(closeReason, answer);
    return this.withQuotas({ handler, version, correlationId, user: ctx.principal.name,
      clientId: header.clientId ?? '', requestBytes: frame.length, response, answer,
      requestTimeNs: Number(handledNs + process.hrtime.bigint() - encodeStartNs) }, onThrottle);
  }

  /** The answer as is, or, when the request put its client over a quota, with throttle_time_ms
   *  (and the connection told to read nothing more for that long). */
  private withQuotas(r: { handler: ApiHandler; version: number; correlationId: number;
    user: string; clientId: string; requestBytes: number; response: unknown;
    answer: Buffer[] | null; requestTimeNs: number },
  onThrottle: ((throttleMs: number) => void) | undefined): DispatchResult {
    const { handler, version, response } = r;
    const throttle = throttleRequest(this.services.quotas, { apiKey: handler.apiKey, user: r.user,
      clientId: r.clientId, requestBytes: r.requestBytes,
      responseBytes: r.answer === null ? 0 : r.answer.reduce((n, c) => n + c.length, 0),
      requestTimeNs: r.requestTimeNs, nowMs: this.services.nowMs() });
    if (throttle.throttleMs === 0) return r.answer;
    onThrottle?.(throttle.throttleMs);
    this.services.metrics.throttledRequests.inc({ api: handler.name });
    if (response === null) return null;
    const throttled = throttledResponse(handler, response, version, throttle);
    return encodeResponseFrame(handler.apiKey, version, r.correlationId,
      (w) => handler.encodeResponse(w, version, throttled));
  }

  /** UNKNOWN_SERVER_ERROR built from the request, or a closed connection if the API has none. */
  private errorAnswer(handler: ApiHandler, request: unknown, version: number,
    correlationId: number): DispatchResult {
    if (handler.errorResponse === undefined) return new CloseConnection(`${handler.name} handler failed`);
    try {
      const response = handler.errorResponse(request, version, ErrorCode.UNKNOWN_SERVER_ERROR);
      if (response === null) return null;
      return encodeResponseFrame(handler.apiKey, version, correlationId,
        (w) => handler.encodeResponse(w, version, response));
    } catch (err) {
      this.log.error({ err, api: handler.name, version }, 'error response failed too');
      return new CloseConnection(`${handler.name} handler failed`);
    }
  }

  private undecodable(what: string, err: unknown): CloseConnection {
    if (!(err instanceof ProtocolDecodeError)) {
      this.log.error({ err }, `decoder bug on ${what}`);
    }
    const reason = `malformed ${what}: ${err instanceof Error ? err.message : String(err)}`;
    this.log.warn(reason);
    return new CloseConnection(reason);
  }
}

/** The answer of a throttled request: its throttle_time_ms set (kept if already longer), and a
 *  throttled Fetch without records (the handler's throttledResponse). */
function throttledResponse(handler: ApiHandler, response: unknown, version: number,
  throttle: Throttle): unknown {
  const answer = throttle.emptyFetch && handler.throttledResponse !== undefined
    ? handler.throttledResponse(version, response) : response;
  if (typeof answer !== 'object' || answer === null || !('throttleTimeMs' in answer)) return answer;
  const current = typeof answer.throttleTimeMs === 'number' ? answer.throttleTimeMs : 0;
  return { ...answer, throttleTimeMs: Math.max(current, throttle.throttleMs) };
}
