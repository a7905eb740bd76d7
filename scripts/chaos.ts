/**
 * The long chaos run: `npm run chaos -- [--faults 30] [--wal-mode shared|object] [--duration-s 300]
 * [--seed 123] [--log-dir DIR]`. Builds first (the brokers run from dist/), runs
 * test/cluster/chaos.ts against a three-broker cluster, prints progress and the report, and keeps
 * the broker logs. Exit code 1 if a record was lost, duplicated or reordered, a committed offset
 * went backwards, or another check failed (see `chaosFailures`).
 */
import { parseArgs } from 'node:util';
import { intArg } from './int-arg.js';
import { chaosFailures, formatReport, runChaos, type WalMode } from '../test/cluster/chaos.js';

function usage(message: string): never {
  console.error(`chaos: ${message}\nusage: npm run chaos -- [--faults N] [--wal-mode shared|object] ` +
    '[--duration-s S] [--seed N] [--log-dir DIR]');
  process.exit(2);
}


let values;
try {
  ({ values } = parseArgs({ options: {
    faults: { type: 'string' },
    'wal-mode': { type: 'string' },
    'duration-s': { type: 'string' },
    seed: { type: 'string' },
    'log-dir': { type: 'string' },
  } }));
} catch (err) {
  usage((err as Error).message);
}
const walMode = values['wal-mode'] ?? 'shared';
if (walMode !== 'shared' && walMode !== 'object') usage(`--wal-mode must be shared or object, got ${walMode}`);

const report = await runChaos({
  walMode: walMode as WalMode,
  faults: intArg('faults', values.faults, 1, usage) ?? 30,
  durationS: intArg('duration-s', values['duration-s'], 0, usage),
  seed: intArg('seed', values.seed, 0, usage),
  faultGapMs: [1000, 3000],
  kinds: ['kill', 'pause', 'restart', 'create-topic', 'grow-partitions', 'store-outage', 'etcd-pause'],
  logDir: values['log-dir'],
  keepLogs: 'always',
  log: (line) => console.log(line),
});
console.log(formatReport(report));
const failures = chaosFailures(report);
const fatal = report.lost + report.duplicated + report.reordered + report.commitRegressions > 0;
process.exit(fatal || failures.length > 0 ? 1 : 0);
