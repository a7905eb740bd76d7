/**
 * What `cluster status` reads from brokers' Prometheus endpoints: the upload backlog (bytes
 * appended, not yet in object storage, and the age of the oldest), and whose endpoint it was.
 * The Kafka protocol carries neither, so these come over HTTP from /metrics (src/metrics.ts).
 */

/** The metrics port the README, compose file and local cluster script give the first broker. */
export const METRICS_PORT_DEFAULT = 9464;

export interface BacklogReading {
  url: string;
  /** The broker that answered (ledgerstream_broker_info); null for an endpoint that does not say. */
  nodeId: number | null;
  bytes: number;
  /** NaN when the endpoint has no such series. */
  oldestSeconds: number;
}

export interface UnreadableEndpoint {
  url: string;
  reason: string;
}

export type EndpointAnswer = BacklogReading | UnreadableEndpoint;

export function isReading(answer: EndpointAnswer): answer is BacklogReading {
  return 'bytes' in answer;
}

/** `http://host:port` or a full URL, as the address of the /metrics page. */
export function metricsPageUrl(url: string): string {
  return /\/metrics$/.test(url) ? url : `${url.replace(/\/$/, '')}/metrics`;
}

/**
 * Where to look without --metrics-url: each broker's advertised host at the broker setting's port
 * (LEDGERSTREAM_METRICS_PORT, the variable a broker reads, when this shell has it), else at 9464.
 * Returns null when that setting says metrics are off.
 */
export function defaultMetricsUrl(host: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const setting = env['LEDGERSTREAM_METRICS_PORT'];
  const port = setting !== undefined && /^\d+$/.test(setting) ? Number(setting) : METRICS_PORT_DEFAULT;
  return port === 0 ? null : metricsPageUrl(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
}

function sampleOf(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? NaN : Number(line.split(' ').at(-1));
}

/** Why a fetch failed, in a few words (fetch itself says only "fetch failed"). */
function fetchFailure(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer within 3 s';
  if (e.cause?.code === 'ECONNREFUSED') return 'connection refused';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Reads one endpoint's backlog gauges; never throws (an unreadable endpoint is a finding). */
export async function readBacklog(url: string): Promise<EndpointAnswer> {
  const page = metricsPageUrl(url);
  try {
    const res = await fetch(page, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return { url: page, reason: `HTTP ${res.status}` };
    const text = await res.text();
    const bytes = sampleOf(text, 'ledgerstream_upload_backlog_bytes');
    if (Number.isNaN(bytes)) return { url: page, reason: 'no ledgerstream_upload_backlog_bytes series (not a Ledgerstream broker?)' };
    const node = /^ledgerstream_broker_info\{[^}]*node_id="(\d+)"/m.exec(text);
    return { url: page, nodeId: node === null ? null : Number(node[1]), bytes,
      oldestSeconds: sampleOf(text, 'ledgerstream_upload_backlog_oldest_seconds') };
  } catch (err) {
    return { url: page, reason: fetchFailure(err) };
  }
}

/** "1234 bytes not yet in object storage, the oldest 2.5 s old". */
export function describeBacklog(reading: BacklogReading): string {
  const age = reading.bytes > 0 && Number.isFinite(reading.oldestSeconds)
    ? `, the oldest ${reading.oldestSeconds.toFixed(1)} s old` : '';
  return `${reading.bytes} bytes not yet in object storage${age}`;
}
