/**
 * Fault injection for tests that must kill a broker at an exact point of a state machine (the
 * transaction coordinator's two phases, a leader writing a marker), which a SIGKILL from outside
 * can only hit by luck. `LEDGERSTREAM_CRASH_POINTS=point[,point...]` makes this process SIGKILL
 * itself the first time it reaches each named point: no cleanup, no flush, the same as a kill -9
 * from outside at that instant. Unset (always, outside such tests) every point is one Set lookup
 * on an empty set.
 */
import assert from 'node:assert/strict';

export const CRASH_POINTS = [
  /** The coordinator stored PrepareCommit/PrepareAbort and has written no marker yet. */
  'txn-before-markers',
  /** Every marker is durable; the offsets and CompleteCommit/CompleteAbort are not stored. */
  'txn-before-complete',
  /** A leader appended a marker to the partition; it is not durable (nor answered) yet. */
  'marker-before-durable',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export const CRASH_POINTS_VARIABLE = 'LEDGERSTREAM_CRASH_POINTS';

function parse(value: string | undefined): Set<CrashPoint> {
  const out = new Set<CrashPoint>();
  for (const name of (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    assert.ok((CRASH_POINTS as readonly string[]).includes(name),
      `${CRASH_POINTS_VARIABLE}: unknown crash point ${name} (known: ${CRASH_POINTS.join(', ')})`);
    out.add(name as CrashPoint);
  }
  return out;
}

const armed = parse(process.env[CRASH_POINTS_VARIABLE]);

/** SIGKILLs this process if `point` is armed (once: the process is gone). */
export function crashPoint(point: CrashPoint): void {
  if (!armed.has(point)) return;
  process.stderr.write(`crash point ${point}: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
}
