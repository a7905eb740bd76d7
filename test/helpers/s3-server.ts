/**
 * Starts a real S3-compatible server (MinIO, single drive) on 127.0.0.1 for tests, waits until it
 * answers, and stops it. MinIO rather than moto: MinIO is a real object store whose conditional
 * put (If-None-Match: *) is atomic under a namespace lock, which the putIfAbsent race test needs;
 * moto checks then writes without a lock. Install with `.ci/install-s3-server.sh`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export const s3ServerLimits = {
  startupMsMax: 30_000,
  stopMsMax: 5_000,
  pollIntervalMs: 100,
  /** Another process may take the free port between our probe and MinIO's bind. */
  startAttemptsMax: 3,
  /** Kept so a startup failure can say why without holding unbounded output. */
  logBytesMax: 16 * 1024,
} as const;

export interface S3Server {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

const installHint =
  'MinIO server binary not found. Install it with `bash .ci/install-s3-server.sh` ' +
  '(runs `go install github.com/minio/minio@<pinned>`; about 4 minutes the first time), ' +
  'or set LEDGERSTREAM_MINIO_BIN to a minio binary.';

/** LEDGERSTREAM_MINIO_BIN, then `minio` on PATH, then Go's install folder. */
export function findMinioBinary(): string {
  const candidates: string[] = [];
  const fromEnv = process.env['LEDGERSTREAM_MINIO_BIN'];
  if (fromEnv) candidates.push(fromEnv);
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, 'minio'));
  }
  const goPath = process.env['GOPATH'] ?? path.join(process.env['HOME'] ?? '/root', 'go');
  candidates.push(path.join(process.env['GOBIN'] ?? path.join(goPath, 'bin'), 'minio'));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(installHint);
  return found;
}


export async function startS3Server(): Promise<S3Server> {
  const binary = findMinioBinary();
  let lastError: unknown;
  for (let attempt = 1; attempt <= s3ServerLimits.startAttemptsMax; attempt++) {
    try {
      return await startMinioOnce(binary, await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startMinioOnce(binary: string, port: number): Promise<S3Server> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-minio-'));
  const credentials = { accessKeyId: 'ledgerstream', secretAccessKey: 'ledgerstream-secret' };
  const child = spawn(
    binary,
    [
      'server',
      '--quiet',
      '--address',
      `127.0.0.1:${port}`,
      '--certs-dir',
      path.join(dataDir, 'certs'),
      path.join(dataDir, 'data'),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        MINIO_ROOT_USER: credentials.accessKeyId,
        MINIO_ROOT_PASSWORD: credentials.secretAccessKey,
        MINIO_BROWSER: 'off', // no console: one port, less startup work
        MINIO_UPDATE: 'off',
      },
    },
  );
  let log = '';
  const keepLog = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-s3ServerLimits.logBytesMax);
  };
  child.stdout?.on('data', keepLog);
  child.stderr?.on('data', keepLog);
  // A test process that exits without calling stop() must not leave MinIO running.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await stopChild(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(endpoint, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, region: 'us-east-1', ...credentials, stop };
}

async function waitUntilReady(
  endpoint: string,
  child: ChildProcess,
  log: () => string,
): Promise<void> {
  const deadlineMs = Date.now() + s3ServerLimits.startupMsMax;
  while (Date.now() < deadlineMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `minio exited (${child.exitCode ?? child.signalCode}) during startup:\n${log()}`,
      );
    }
    try {
      const response = await fetch(`${endpoint}/minio/health/ready`, {
        signal: AbortSignal.timeout(1_000),
      });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, s3ServerLimits.pollIntervalMs));
  }
  throw new Error(`minio not ready after ${s3ServerLimits.startupMsMax} ms:\n${log()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), s3ServerLimits.stopMsMax);
  await exited;
  clearTimeout(timer);
}
