/**
 * The transaction kill run, short (txn-kill.ts; the long one is `npm run chaos:txn`): Kafka's
 * TransactionalMessageCopier on the three-broker cluster while a copier's transaction
 * coordinator, an output partition's leader and a random broker are SIGKILLed and restarted;
 * then every input record exactly once in the read_committed output, nothing of an aborted
 * transaction, no transaction left open, the LSO at the high watermark.
 *
 * Needs `java` (17+) and Kafka's jars (.ci/install-kafka.sh); skipped only without `java`.
 */
import { describe, expect, it } from 'vitest';
import { javaAvailable } from '../helpers/kafka-tools.js';
import { formatTxnKillReport, runTxnKill, txnKillFailures } from './txn-kill.js';

const KILLS = 3;

describe.skipIf(!javaAvailable())('transactions while brokers are killed', () => {
  it(`copies every record exactly once through ${KILLS} broker kills`, async () => {
    const report = await runTxnKill({ kills: KILLS, gapMs: [500, 1500], downMs: [300, 1000] });
    const text = formatTxnKillReport(report);
    console.log(`transaction kill run:\n${text}`);
    expect(txnKillFailures(report, KILLS), text).toEqual([]);
    expect(report.faultsByTarget.coordinator).toBeGreaterThan(0);
    expect(report.faultsByTarget['output-leader']).toBeGreaterThan(0);
    expect(report.records).toBeGreaterThan(0);
  }, 300_000);
});
