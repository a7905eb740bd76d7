/**
 * What a request costs against its client's quotas, and the throttle that follows, as Kafka's
 * KafkaApis does it (KIP-13, KIP-124, KIP-219):
 *  - Produce records its request size against producer_byte_rate; Fetch its response size
 *    against consumer_byte_rate; every request but the exempt ones (below) its time against
 *    request_percentage. The throttle is the longest of those that apply.
 *  - A throttled Fetch is answered without records (the handler's throttledResponse) and its
 *    bytes are taken back, so a consumer is not charged for data it did not get.
 *  - The response carries throttle_time_ms and goes out at once; the connection then reads
 *    nothing more from the client until the throttle is over (the caller mutes it).
 *
 * Request time is what this request held the event loop for: decoding it, the handler's run up
 * to its first wait, and encoding the answer. Node has one thread where Kafka has request and
 * network thread pools, so 100 is the whole event loop. Waits (a long-polling Fetch, an fsync)
 * are not charged, as Kafka charges thread time, not purgatory time.
 */
import { ApiKey } from '../../protocol/generated/api-keys.js';
import { requestPercentage, type ClientQuotas } from '../quota/client-quotas.js';

/** Never charged to request_percentage: a client needs them to learn and start using the
 *  protocol (Kafka exempts ApiVersions and the SASL exchange from throttling too). */
const requestQuotaExempt: ReadonlySet<number> = new Set([ApiKey.ApiVersions,
  ApiKey.SaslHandshake, ApiKey.SaslAuthenticate]);

export interface RequestCost {
  apiKey: number;
  user: string;
  clientId: string;
  requestBytes: number;
  responseBytes: number;
  requestTimeNs: number;
  nowMs: number;
}

export interface Throttle {
  throttleMs: number;
  /** A Fetch to answer without records. */
  emptyFetch: boolean;
}

export function throttleRequest(quotas: ClientQuotas, c: RequestCost): Throttle {
  const requestMs = requestQuotaExempt.has(c.apiKey) ? 0
    : quotas.request.recordAndGetThrottleTimeMs(c.user, c.clientId,
      requestPercentage(c.requestTimeNs), c.nowMs);
  if (c.apiKey === ApiKey.Produce) {
    const bandwidthMs = quotas.produce.recordAndGetThrottleTimeMs(c.user, c.clientId,
      c.requestBytes, c.nowMs);
    return { throttleMs: Math.max(bandwidthMs, requestMs), emptyFetch: false };
  }
  if (c.apiKey === ApiKey.Fetch) {
    const bandwidthMs = quotas.fetch.recordAndGetThrottleTimeMs(c.user, c.clientId,
      c.responseBytes, c.nowMs);
    const throttleMs = Math.max(bandwidthMs, requestMs);
    if (throttleMs > 0) quotas.fetch.unrecord(c.user, c.clientId, c.responseBytes, c.nowMs);
    return { throttleMs, emptyFetch: throttleMs > 0 };
  }
  return { throttleMs: requestMs, emptyFetch: false };
}
