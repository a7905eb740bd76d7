/**
 * A TCP proxy that delays every answer of its upstream by `delayMs` (requests pass at once), so a
 * loopback MinIO answers a PUT about as late as S3 does. For benchmarks only: what a slow store
 * does to a broker that paces its PUTs (bench/object-wal-latency.ts).
 */
import assert from 'node:assert/strict';
import net from 'node:net';

export interface LatencyProxy {
  /** http://127.0.0.1:<port>, to use in place of the upstream endpoint. */
  endpoint: string;
  close(): Promise<void>;
}

export async function startLatencyProxy(upstreamEndpoint: string, delayMs: number):
  Promise<LatencyProxy> {
  assert.ok(Number.isFinite(delayMs) && delayMs >= 0, 'a delay is a duration');
  const upstream = new URL(upstreamEndpoint);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const store = net.connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, store]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); store.destroy(); });
    }
    client.pipe(store);
    // Chunks keep their order: each waits the same delay after the one before it arrived.
    store.on('data', (chunk) => setTimeout(() => client.write(chunk), delayMs));
    store.on('end', () => setTimeout(() => client.end(), delayMs));
    client.on('close', () => store.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
