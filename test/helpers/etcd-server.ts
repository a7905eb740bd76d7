/**
 * Starts a real single-member etcd (v3 API) on free 127.0.0.1 ports with a temp data folder for
 * tests, waits until /health says so, and stops it. Install with `.ci/install-etcd.sh` (Debian's
 * etcd-server package: /usr/bin/etcd).
 *
 * `--max-txn-ops` is raised from etcd's default of 128 to `etcdServerLimits.txnOpsMax`, and the
 * coordinators under test are opened with the same number: a commit costs about two ops per
 * partition, and the 20k-entry test writes its entries in large transactions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

export const etcdServerLimits = {
  startupMsMax: 30_000,
  stopMsMax: 5_000,
  pollIntervalMs: 100,
  /** Another process may take a free port between our probe and etcd's bind. */
  startAttemptsMax: 3,
  /** Kept so a startup failure can say why without holding unbounded output. */
  logBytesMax: 16 * 1024,
  /** Passed as --max-txn-ops; open coordinators with txnOpsMax equal to it. */
  txnOpsMax: 1024,
} as const;

export interface EtcdServer {
  /** Client URL, e.g. http://127.0.0.1:40123 */
  endpoint: string;
  /** OS process id, for fault injection (SIGSTOP/SIGCONT pauses etcd). */
  pid: number;
  stop(): Promise<void>;
}

const installHint =
  'etcd server binary not found. Install it with `bash .ci/install-etcd.sh` ' +
  '(apt-get install etcd-server; it provides /usr/bin/etcd), or set LEDGERSTREAM_ETCD_BIN ' +
  'to an etcd (v3.4 or newer) binary.';

/** LEDGERSTREAM_ETCD_BIN, then `etcd` on PATH, then /usr/bin/etcd. */
export function findEtcdBinary(): string {
  const candidates: string[] = [];
  const fromEnv = process.env['LEDGERSTREAM_ETCD_BIN'];
  if (fromEnv) candidates.push(fromEnv);
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, 'etcd'));
  }
  candidates.push('/usr/bin/etcd');
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(installHint);
  return found;
}


export async function startEtcdServer(): Promise<EtcdServer> {
  const binary = findEtcdBinary();
  let lastError: unknown;
  for (let attempt = 1; attempt <= etcdServerLimits.startAttemptsMax; attempt++) {
    try {
      return await startEtcdOnce(binary, await freePort(), await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startEtcdOnce(binary: string, clientPort: number, peerPort: number):
  Promise<EtcdServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ledgerstream-etcd-'));
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = spawn(binary, [
    '--name', 'test',
    '--data-dir', dataDir,
    '--listen-client-urls', endpoint,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `test=${peerUrl}`,
    '--max-txn-ops', String(etcdServerLimits.txnOpsMax),
    '--logger', 'zap',
    '--log-level', 'warn',
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // etcd 3.4 refuses to start on arm64 unless told this is on purpose.
    env: { ...process.env,
      ...(process.arch === 'arm64' ? { ETCD_UNSUPPORTED_ARCH: 'arm64' } : {}) },
  });
  let log = '';
  const keepLog = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-etcdServerLimits.logBytesMax);
  };
  child.stdout?.on('data', keepLog);
  child.stderr?.on('data', keepLog);
  // A test process that exits without calling stop() must not leave etcd running.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await stopChild(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilHealthy(endpoint, child, () => log);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, pid: child.pid!, stop };
}

async function waitUntilHealthy(endpoint: string, child: ChildProcess, log: () => string):
  Promise<void> {
  const deadlineMs = Date.now() + etcdServerLimits.startupMsMax;
  while (Date.now() < deadlineMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const status = child.exitCode ?? child.signalCode;
      throw new Error(`etcd exited (${status}) during startup:\n${log()}`);
    }
    try {
      const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { health?: string };
      if (response.ok && body.health === 'true') return;
    } catch {
      // Not listening yet, or no leader yet.
    }
    await new Promise((resolve) => setTimeout(resolve, etcdServerLimits.pollIntervalMs));
  }
  throw new Error(`etcd not healthy after ${etcdServerLimits.startupMsMax} ms:\n${log()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), etcdServerLimits.stopMsMax);
  await exited;
  clearTimeout(timer);
}
