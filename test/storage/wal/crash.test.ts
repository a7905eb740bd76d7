/**
 * A real crash: a child process appends and prints each acknowledged LSN; we SIGKILL it at random
 * moments (during recovery, mid-append, mid-roll, mid-truncation), reopen, and check that every
 * acknowledged entry is there, intact and in order. Unacknowledged entries may or may not be
 * there, but whatever is there must be intact.
 *
 * SIGKILL leaves the page cache alone, so this checks the WAL's own logic (ack only after the
 * write, recovery, lock takeover), not the disk's; torn writes are covered by recovery.test.ts.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bufferHeaderCodec } from '../../../storage/wal/header-codec.js';
import type { WalEntry } from '../../../storage/wal/reader.js';
import { Wal } from '../../../storage/wal/wal.js';
import { WalReadOnly } from '../../../storage/wal/wal-read-only.js';
import {
  collect,
  crashLimits,
  crashPayloadBytesMax,
  makeTempDir,
  numberOf,
  payloadFor,
  payloadSizeFor,
} from './helpers.js';

const childScript = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const rounds = 12;

/** Small seeded PRNG so a failing run can be repeated from the seed in the message. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface RoundLog {
  acks: Array<{ n: number; lsn: number }>;
  truncatedBelow: number;
  sawReady: boolean;
}

/** Runs the child, SIGKILLs it `killAtMs` after spawn (or after "ready"), collects its log. */
function runChildAndKill(
  dir: string,
  killAtMs: number,
  afterReady: boolean,
  chunked: boolean,
): Promise<RoundLog> {
  const log: RoundLog = { acks: [], truncatedBelow: 0, sawReady: false };
  const args = ['--import', 'tsx', childScript, dir, chunked ? 'chunked' : 'whole'];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kill = () => setTimeout(() => child.kill('SIGKILL'), killAtMs);
  if (!afterReady) kill();
  let buffered = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const [word, a, b] = line.split(' ');
      if (word === 'ack') log.acks.push({ n: Number(a), lsn: Number(b) });
      else if (word === 'truncating') log.truncatedBelow = Math.max(log.truncatedBelow, Number(a));
      else if (word === 'ready') {
        log.sawReady = true;
        if (afterReady) kill();
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    // 'close', not 'exit': 'exit' may come before the last lines are read from the pipe, and a
    // "truncating" line read late let a truncated LSN count as lost. 'close' comes after the
    // child is reaped (its pid is dead when the next open checks it) and its stdio is drained.
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve(log);
      else reject(new Error(`child exited by itself (code ${code}): ${stderr}`));
    });
  });
}

async function readEverything(
  dir: string,
  mode: 'read-only' | 'writable',
): Promise<WalEntry<Buffer>[]> {
  const options = { dir, headerCodec: bufferHeaderCodec, limits: crashLimits };
  if (mode === 'read-only') {
    const reader = await WalReadOnly.open(options);
    return collect(reader.readFrom(reader.recovery.segments[0]?.baseLsn ?? 1));
  }
  const wal = await Wal.open(options);
  try {
    return await collect(wal.readFrom(wal.lsnOldest));
  } finally {
    await wal.close();
  }
}

function checkIntact(entries: WalEntry<Buffer>[]): void {
  const seen = new Set<number>();
  for (const [i, entry] of entries.entries()) {
    if (i > 0) expect(entry.lsn).toBe(entries[i - 1]!.lsn + 1);
    const n = numberOf(entry.header);
    expect(seen.has(n), `entry number ${n} appears twice`).toBe(false);
    seen.add(n);
    const intact = entry.payload.equals(payloadFor(n, payloadSizeFor(n, crashPayloadBytesMax)));
    expect(intact, `payload of entry ${n} at LSN ${entry.lsn}`).toBe(true);
  }
}

describe('WAL crash (SIGKILL a writing process)', () => {
  let dir = '';
  let cleanup = async () => {};
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir('crash')));
  afterEach(() => cleanup());

  it('recovers every acknowledged entry intact and in order, across repeated kills', async () => {
    const seed = Date.now();
    const random = rng(seed);
    const ackedLsnToN = new Map<number, number>();
    let truncatedBelow = 0;
    let totalAcks = 0;
    for (let round = 0; round < rounds; round++) {
      // Every fourth round dies early: during tsx startup or recovery, before any append.
      const early = round % 4 === 2;
      const killAtMs = early ? Math.floor(random() * 400) : 30 + Math.floor(random() * 400);
      const chunked = round % 2 === 1;
      const log = await runChildAndKill(dir, killAtMs, !early, chunked);
      totalAcks += log.acks.length;
      truncatedBelow = Math.max(truncatedBelow, log.truncatedBelow);
      for (const { n, lsn } of log.acks) {
        // An acknowledged LSN is durable, so it is never handed out again.
        const previous = ackedLsnToN.get(lsn);
        const reacked = previous !== undefined && previous !== n;
        expect(reacked, `seed ${seed}: LSN ${lsn} acknowledged twice`).toBe(false);
        ackedLsnToN.set(lsn, n);
      }

      // Alternate the verifier: read-only (leaves a torn tail for the next child's recovery to
      // cut) and writable (cuts it here).
      const entries = await readEverything(dir, round % 4 < 2 ? 'read-only' : 'writable');
      checkIntact(entries);
      const byLsn = new Map(entries.map((e) => [e.lsn, numberOf(e.header)]));
      for (const [lsn, n] of ackedLsnToN) {
        if (lsn < truncatedBelow) continue; // may have been deleted after upload
        const where = `seed ${seed} round ${round}: acked LSN ${lsn} (entry ${n})`;
        expect(byLsn.get(lsn), where).toBe(n);
      }
    }
    // The test means something only if the child got to append a fair amount.
    expect(totalAcks).toBeGreaterThan(100);
  }, 120_000);
});
