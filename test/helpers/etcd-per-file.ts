/**
 * For a test file that talks to etcd: one real etcd server and a raw client to it, started
 * before the file's tests and stopped after them. Kept apart from etcd-server.ts, which
 * benchmarks import too, because this one registers vitest hooks.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll } from 'vitest';
import { type EtcdServer, startEtcdServer } from './etcd-server.js';

export interface EtcdForFile {
  readonly server: EtcdServer;
  /** A client for reading and writing keys behind the code under test's back. */
  readonly raw: Etcd3;
}

export function etcdPerFile(): EtcdForFile {
  let server: EtcdServer | undefined;
  let raw: Etcd3 | undefined;
  beforeAll(async () => {
    server = await startEtcdServer();
    raw = new Etcd3({ hosts: server.endpoint });
  });
  afterAll(async () => {
    raw?.close();
    await server?.stop();
  });
  return {
    get server() { return server!; },
    get raw() { return raw!; },
  };
}
