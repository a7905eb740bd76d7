/**
 * Chaos, short form for CI: a three-broker cluster under steady idempotent acks=-1 load and a
 * consumer group while brokers are SIGKILLed, SIGSTOPped and gracefully restarted one at a time,
 * the controller is killed once, and a topic is created and produced to at once, a topic grows,
 * the object store fails for a few seconds and etcd is paused past the lease, once each (see
 * chaos.ts; `npm run chaos` is the long run). Every acknowledged record must be read back exactly
 * once and in order, nothing read that was neither acknowledged nor in doubt, committed group
 * offsets must never go back, the new topic's high watermarks must be exact, every broker must
 * follow the partition growth, and the cluster must come back whole after each fault. Prints the
 * report: counts, faults, the longest unavailability per partition and per fault type.
 */
import { describe, expect, it } from 'vitest';
import { chaosFailures, formatReport, runChaos, type WalMode } from './chaos.js';
import { CLUSTER_FAULT_KINDS } from './chaos-cluster-faults.js';

const FAULTS = 9;

describe.each<{ walMode: WalMode }>([{ walMode: 'shared' }, { walMode: 'object' }])('chaos, WAL mode $walMode', ({ walMode }) => {
  it(`keeps every acknowledged record and committed offset through ${FAULTS} faults`, async () => {
    const lines: string[] = [];
    try {
      const report = await runChaos({ walMode, faults: FAULTS, faultGapMs: [300, 1000],
        recoveryLimitMs: 30_000, catchUpLimitMs: 30_000, deadlineMs: 225_000, log: (line) => lines.push(line) });
      lines.push(formatReport(report));
      expect(report.faults).toHaveLength(FAULTS);
      expect(report.faultsByKind['controller-kill']).toBe(1);
      for (const kind of CLUSTER_FAULT_KINDS) expect(report.faultsByKind[kind]).toBe(1);
      expect(report.acknowledged).toBeGreaterThan(0);
      expect({
        lost: report.lost, duplicated: report.duplicated, reordered: report.reordered,
        commitRegressions: report.commitRegressions, unacknowledgedRead: report.unacknowledgedRead,
      }).toEqual({ lost: 0, duplicated: 0, reordered: 0, commitRegressions: 0, unacknowledgedRead: 0 });
      // Offset gaps, records read at another offset than acknowledged, hangs, crashes, a group that never caught up.
      expect(chaosFailures(report)).toEqual([]);
    } finally {
      console.log(lines.join('\n'));
    }
  }, 240_000);
});
