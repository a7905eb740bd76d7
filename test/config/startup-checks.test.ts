/**
 * Issue 12, start-up: a broker that cannot work refuses to start at once, with one line that says
 * what is wrong and which setting fixes it: a mistyped LEDGERSTREAM_* variable or flag (with a
 * "did you mean"), a data folder that cannot be used (a file, a path under /proc, which used to
 * spin at 100% CPU for ever), and an object store that is not there, has no such bucket or
 * refuses the credentials (real MinIO). `--start-degraded true` starts anyway. Real CLI processes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../helpers/broker-process.js';
import { freePort } from '../helpers/ports.js';
import { type S3Server, startS3Server } from '../helpers/s3-server.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/src/cli.js');
/** A start that hangs instead of failing is a failure too; this is far above any real start. */
const START_MS_MAX = 45_000;

interface Outcome { code: number | null; stderr: string; stdout: string }

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'start', ...args], { env: { ...process.env, ...env }, timeout: START_MS_MAX },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr }));
  });
}

/** The one line the CLI printed on stderr (warnings from Node.js itself excluded). */
function errorLine(o: Outcome): string {
  const lines = o.stderr.trim().split('\n').filter((l) => l.startsWith('ledgerstream:'));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

let dataDir: string;
beforeAll(async () => { dataDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-startup-')); });
afterAll(async () => { await rm(dataDir, { recursive: true, force: true }); });

describe('settings', () => {
  it('a mistyped LEDGERSTREAM_* variable stops start-up and names the nearest setting', async () => {
    const o = await runCli(['--port', '0', '--data-dir', dataDir], { LEDGERSTREAM_PROT: '9093' });
    expect(o.code).toBe(2);
    expect(errorLine(o)).toBe('ledgerstream: invalid setting LEDGERSTREAM_PROT: unknown environment variable (did you mean LEDGERSTREAM_PORT?)');
  });

  it('a mistyped flag names the nearest flag', async () => {
    const o = await runCli(['--data-dri', dataDir]);
    expect(o.code).toBe(2);
    expect(errorLine(o)).toBe('ledgerstream: invalid setting --data-dri: unknown setting (did you mean --data-dir?)');
  });
});

describe('data folder', () => {
  it('a file where the folder should be stops start-up', async () => {
    const file = path.join(dataDir, 'a-file');
    await writeFile(file, 'x');
    const o = await runCli(['--port', '0', '--data-dir', path.join(file, 'data')]);
    expect(o.code).toBe(1);
    expect(errorLine(o)).toMatch(/^ledgerstream: cannot start: data folder .*a-file\/data is not usable: .*a-file is not a folder \(set --data-dir/);
  });

  it('a folder under /proc stops start-up instead of spinning', async () => {
    const o = await runCli(['--port', '0', '--data-dir', '/proc/ledgerstream-data']);
    expect(o.code).toBe(1);
    expect(errorLine(o)).toMatch(/^ledgerstream: cannot start: data folder \/proc\/ledgerstream-data is not usable: .*\(set --data-dir/);
  });
});

describe('object store', () => {
  let s3: S3Server;
  beforeAll(async () => { s3 = await startS3Server(); });
  afterAll(async () => { await s3?.stop(); });

  const s3Args = (overrides: Record<string, string> = {}) => Object.entries({
    'port': '0', 'data-dir': path.join(dataDir, `s3-${Math.random().toString(36).slice(2)}`), 'object-store': 's3',
    's3-endpoint': s3.endpoint, 's3-region': s3.region, 's3-access-key-id': s3.accessKeyId,
    's3-secret-access-key': s3.secretAccessKey, 's3-bucket': 'startup-checks', 's3-create-bucket': 'true',
    ...overrides,
  }).flatMap(([k, v]) => [`--${k}`, v]);

  it('an endpoint nobody listens on stops start-up and names --s3-endpoint', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const o = await runCli(s3Args({ 's3-endpoint': dead, 's3-create-bucket': 'false', 's3-request-timeout-ms': '3000' }));
    expect(o.code).toBe(1);
    const line = errorLine(o);
    expect(line).toContain(`cannot start: object store (S3 bucket "startup-checks" at ${dead}) is not usable`);
    expect(line).toContain('check --s3-endpoint');
  });

  it('a bucket that does not exist stops start-up and says how to create it', async () => {
    const o = await runCli(s3Args({ 's3-bucket': 'no-such-bucket', 's3-create-bucket': 'false' }));
    expect(o.code).toBe(1);
    expect(errorLine(o)).toContain('NoSuchBucket');
    expect(errorLine(o)).toContain('--s3-create-bucket true');
  });

  it('refused credentials stop start-up and name the key settings', async () => {
    // MinIO checks the key before it looks for the bucket.
    const o = await runCli(s3Args({ 's3-access-key-id': 'wrong-key', 's3-create-bucket': 'false' }));
    expect(o.code).toBe(1);
    expect(errorLine(o)).toContain('check --s3-access-key-id and --s3-secret-access-key');
  });

  it('a working store passes, and --start-degraded true starts without one', async () => {
    const good = await startBroker({ settings: { objectStore: 's3', s3Endpoint: s3.endpoint, s3Region: s3.region,
      s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey, s3Bucket: 'startup-checks', s3CreateBucket: true } });
    await good.destroy();
    const degraded = await startBroker({ settings: { objectStore: 's3', s3Bucket: 'startup-checks',
      s3Endpoint: `http://127.0.0.1:${await freePort()}`, s3RequestTimeoutMs: 2000, startDegraded: true } });
    try {
      expect(degraded.output()).toContain('starting degraded: the object store failed its check');
    } finally {
      await degraded.kill();
      await degraded.destroy();
    }
  });
});
