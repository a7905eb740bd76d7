/**
 * A tiny HTTP proxy in front of the real S3 server that injects faults: the one fake the S3 tests
 * use. It forwards requests unchanged (Host header included, so SigV4 signatures still verify)
 * unless a planned fault is queued for that HTTP method.
 */
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export type ProxyFault =
  /** Answer 500 InternalError without contacting the server. */
  | 'fail500'
  /** Read the request, then never answer (until the proxy closes). */
  | 'hang'
  /** Forward, let the server act, then answer 500: a response lost after the write landed. */
  | 'forwardThenFail500';

export const faultProxyLimits = { plannedFaultsMax: 100 } as const;

export interface FaultProxy {
  endpoint: string;
  /** Queues faults for the next requests with this HTTP method, one fault per request. */
  inject(method: string, faults: readonly ProxyFault[]): void;
  /** Requests seen per HTTP method, and faults injected so far. */
  counts(): { byMethod: Record<string, number>; injected: number };
  close(): Promise<void>;
}

const internalErrorXml =
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<Error><Code>InternalError</Code><Message>injected by fault proxy</Message></Error>';

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const upstreamUrl = new URL(upstream);
  const planned = new Map<string, ProxyFault[]>();
  const byMethod: Record<string, number> = {};
  let injected = 0;

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    byMethod[method] = (byMethod[method] ?? 0) + 1;
    const fault = planned.get(method)?.shift();
    if (fault !== undefined) injected += 1;
    if (fault === 'fail500') return void drain(req, () => answer500(res));
    if (fault === 'hang') return void drain(req, () => undefined);
    forward(req, res, upstreamUrl, fault === 'forwardThenFail500');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    inject(method, faults) {
      const queue = planned.get(method) ?? [];
      assert.ok(queue.length + faults.length <= faultProxyLimits.plannedFaultsMax);
      planned.set(method, [...queue, ...faults]);
    },
    counts: () => ({ byMethod: { ...byMethod }, injected }),
    close: async () => {
      server.closeAllConnections(); // hung requests included
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function drain(req: IncomingMessage, then: () => void): void {
  req.resume();
  req.once('end', then);
}

function answer500(res: ServerResponse): void {
  res.writeHead(500, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(internalErrorXml),
  });
  res.end(internalErrorXml);
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: URL,
  loseResponse: boolean,
): void {
  const outbound = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    },
    (upstreamRes) => {
      if (loseResponse) return void drain(upstreamRes, () => answer500(res));
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
      upstreamRes.pipe(res);
    },
  );
  outbound.once('error', () => res.destroy());
  req.pipe(outbound);
}
