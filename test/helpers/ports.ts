/** A TCP port free on 127.0.0.1 right now (another process may still take it before we bind). */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address !== 'object') {
        reject(new Error('no port bound'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}
