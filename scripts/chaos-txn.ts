/**
 * The transaction kill run (issue 11): Kafka's TransactionalMessageCopier copies numbered records
 * on a three-broker cluster while brokers (the copiers' transaction coordinators, the output
 * partitions' leaders, random ones) are SIGKILLed and restarted; then a read_committed reader
 * checks exactly-once. See test/txn/txn-kill.ts.
 *
 *   npm run chaos:txn -- [--kills N] [--feed-per-second R] [--log-dir DIR]
 *
 * Exits 0 when every check passed, 1 otherwise, 2 on bad usage.
 */
import { parseArgs } from 'node:util';
import { intArg } from './int-arg.js';
import { formatTxnKillReport, runTxnKill, txnKillFailures } from '../test/txn/txn-kill.js';

function usage(message: string): never {
  console.error(`chaos:txn: ${message}\nusage: npm run chaos:txn -- [--kills N] `
    + '[--feed-per-second R] [--log-dir DIR]');
  process.exit(2);
}


let values;
try {
  ({ values } = parseArgs({ options: {
    kills: { type: 'string' },
    'feed-per-second': { type: 'string' },
    'log-dir': { type: 'string' },
  } }));
} catch (err) {
  usage((err as Error).message);
}
const kills = intArg('kills', values.kills, 1, usage) ?? 20;
const started = Date.now();
const report = await runTxnKill({
  kills,
  feedPerSecond: intArg('feed-per-second', values['feed-per-second'], 1, usage),
  logDir: values['log-dir'],
  log: (line) => console.log(`[+${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
});
console.log(formatTxnKillReport(report));
const failures = txnKillFailures(report, kills);
if (failures.length > 0) console.log(`FAILED: ${failures.join('; ')}`);
process.exit(failures.length > 0 ? 1 : 0);
