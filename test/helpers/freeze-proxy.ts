/**
 * A TCP proxy that can freeze: while frozen, bytes in both directions are held (not dropped) and
 * delivered in order once thawed, as a network that stalls does. A broker whose etcd connection
 * goes through one stays up and serves clients while it hears nothing from etcd: it cannot learn
 * that its lease was revoked or its partitions moved (fault injection for cluster tests).
 */
import assert from 'node:assert/strict';
import { type Server, type Socket, connect, createServer } from 'node:net';

export interface FreezeProxy {
  /** host:port to connect to instead of the upstream. */
  readonly endpoint: string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export const freezeProxyLimits = Object.freeze({
  /** Held bytes per direction of a connection: a test that freezes longer is wrong. */
  heldBytesMax: 64 * 1024 * 1024,
});

interface Pipe {
  to: Socket;
  held: Buffer[];
  heldBytes: number;
}

/** `upstream`: host:port (e.g. an etcd endpoint without its scheme). */
export async function startFreezeProxy(upstream: string): Promise<FreezeProxy> {
  const url = new URL(upstream.includes('://') ? upstream : `tcp://${upstream}`);
  let frozen = false;
  const pipes = new Set<Pipe>();
  const sockets = new Set<Socket>();
  const forward = (from: Socket, pipe: Pipe): void => {
    from.on('data', (chunk: Buffer) => {
      if (!frozen) return void pipe.to.write(chunk);
      pipe.held.push(chunk);
      pipe.heldBytes += chunk.length;
      assert.ok(pipe.heldBytes <= freezeProxyLimits.heldBytesMax, 'freeze proxy holds too much');
    });
    from.on('end', () => pipe.to.end());
    from.on('error', () => pipe.to.destroy());
    from.on('close', () => { pipes.delete(pipe); sockets.delete(from); });
  };
  const server: Server = createServer((client) => {
    const server = connect(Number(url.port), url.hostname);
    sockets.add(client).add(server);
    const up: Pipe = { to: server, held: [], heldBytes: 0 };
    const down: Pipe = { to: client, held: [], heldBytes: 0 };
    pipes.add(up).add(down);
    forward(client, up);
    forward(server, down);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    freeze: () => { frozen = true; },
    thaw: () => {
      frozen = false;
      for (const pipe of pipes) {
        for (const chunk of pipe.held.splice(0)) pipe.to.write(chunk);
        pipe.heldBytes = 0;
      }
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
