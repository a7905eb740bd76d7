/**
 * A single-node broker does not load the cluster's modules: etcd3 and its gRPC stack take about
 * 0.2 s to load (and ~165 modules of memory), which `npm start` has no use for. Imports the
 * built broker entry point in a fresh Node process and lists the CommonJS modules it loaded.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const START = path.resolve(import.meta.dirname, '../../dist/src/cli/start.js');
const LIST_MODULES = `
import { createRequire } from 'node:module';
await import(process.argv[1]);
console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;

it('starting a single node loads neither etcd3 nor gRPC', async () => {
  const { stdout } = await promisify(execFile)(process.execPath,
    ['--input-type=module', '-e', LIST_MODULES, START], { timeout: 60_000 });
  const loaded = JSON.parse(stdout) as string[];
  expect(loaded.length, 'CommonJS modules are listed at all').toBeGreaterThan(10);
  const cluster = loaded.filter((m) => /[/\\](etcd3|@grpc)[/\\]/.test(m));
  expect(cluster).toEqual([]);
}, 90_000);
