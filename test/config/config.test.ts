/**
 * Configuration: flags over environment over file over defaults, and every bad value stops
 * start-up with one line that names the setting — checked on the real CLI too.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/src/cli.js');

describe('loadConfig', () => {
  it('has embedded defaults', () => {
    const c = loadConfig([], {});
    expect(c.port).toBe(9092);
    expect(c.host).toBe('127.0.0.1');
    expect(c.objectStore).toBe('local');
    expect(c.objectStoreDir).toBe(path.join(c.dataDir, 'objects'));
  });

  it('takes flags over environment over file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ls-config-'));
    const file = path.join(dir, 'broker.json');
    writeFileSync(file, JSON.stringify({ port: 1111, nodeId: 5, uploadIntervalMs: 77 }));
    const c = loadConfig(['--config', file, '--port=3333'],
      { LEDGERSTREAM_PORT: '2222', LEDGERSTREAM_NODE_ID: '6' });
    expect(c.port).toBe(3333);
    expect(c.nodeId).toBe(6);
    expect(c.uploadIntervalMs).toBe(77);
  });

  it('accepts every setting as a kebab-case flag (--s3-bucket, --node-id, ...)', () => {
    const c = loadConfig(['--object-store', 's3', '--s3-bucket', 'ledger', '--s3-prefix', 'a/',
      '--node-id', '3'], {});
    expect([c.objectStore, c.s3Bucket, c.s3Prefix, c.nodeId]).toEqual(['s3', 'ledger', 'a/', 3]);
  });

  it("accepts the tools' own LEDGERSTREAM_* variables beside the settings", () => {
    const c = loadConfig([], { LEDGERSTREAM_PORT: '9093', LEDGERSTREAM_MINIO_BIN: '/x/minio', LEDGERSTREAM_ETCD_BIN: '/x/etcd' });
    expect(c.port).toBe(9093);
  });

  const bad: [string[], Record<string, string>, string][] = [
    [['--port', '99999'], {}, 'port'],
    [['--port', 'abc'], {}, 'port'],
    [['--no-such-setting', '1'], {}, '--no-such-setting'],
    [['--object-store', 'ftp'], {}, 'objectStore'],
    [['--object-store', 's3'], {}, 's3Bucket'],
    [[], { LEDGERSTREAM_AUTO_CREATE_TOPICS: 'maybe' }, 'autoCreateTopics'],
    [['--s3-prefix', 'tenant'], {}, 's3Prefix'],
    [['--message-bytes-max', String(200 * 1024 * 1024)], {}, 'messageBytesMax'],
    // Fits the request but not one WAL entry (8 MiB less its frame and header).
    [['--message-bytes-max', String(8 * 1024 * 1024)], {}, 'messageBytesMax'],
    // Relations with other limits (src/limits.ts): a WAL segment must hold the largest entry,
    // etcd transactions the largest fixed-size one, and an object being committed is no orphan.
    [['--wal-segment-bytes-max', String(8 * 1024 * 1024)], {}, 'walSegmentBytesMax'],
    [['--etcd-txn-ops-max', '32'], {}, 'etcdTxnOpsMax'],
    [['--orphan-age-ms-min', '60000'], {}, 'orphanAgeMsMin'],
    [['--s3-request-timeout-ms', '600000'], {}, 'orphanAgeMsMin'],
    [['--request-bytes-max', String(600 * 1024 * 1024)], {}, 'requestBytesMax'],
    [['--port'], {}, 'port'],
    [[], { LEDGERSTREAM_PROT: '9093' }, 'LEDGERSTREAM_PROT'],
  ];
  for (const [argv, env, setting] of bad) {
    it(`refuses ${[...argv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ')}`, () => {
      let error: unknown;
      try { loadConfig(argv, env); } catch (err) { error = err; }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).setting).toBe(setting);
      expect((error as Error).message).not.toContain('\n');
    });
  }
});

it('the CLI stops with one line naming the bad setting', async () => {
  const run = promisify(execFile);
  const result = await run(process.execPath, [CLI, 'start', '--port', '99999']).catch((e: unknown) => e);
  const { code, stderr } = result as { code: number; stderr: string };
  expect(code).toBe(2);
  expect(stderr.trim().split('\n')).toEqual(['ledgerstream: invalid setting port: 99999 is outside [0, 65535]']);
});
