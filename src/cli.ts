/**
 * `ledgerstream start [--setting value ...]`: starts a broker with embedded defaults (local
 * object folder and coordinator under ./data, 127.0.0.1:9092). A bad setting stops start-up with
 * one line naming it. SIGTERM or SIGINT shut down gracefully (exit 0; exit 3 with one line when
 * the object store did not take the WAL's data, which then waits in the WAL for the next start).
 */
import { Broker } from './broker/broker.js';
import { ConfigError, describeSettings, loadConfig } from './config/config.js';
import { WalNoSpaceError } from '../storage/wal/errors.js';
import { StartupCheckError } from './broker/startup-checks.js';

// The AWS SDK warns on every start under Node.js 20 that its releases from 2027 need Node.js 22:
// news for whoever upgrades our dependencies, not for an operator starting a broker.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** Exit code of a graceful stop that left acknowledged data only in the WAL. */
const EXIT_WAL_NOT_UPLOADED = 3;

const USAGE = `usage: ledgerstream start [--setting value ...]

Settings (flags, LEDGERSTREAM_* environment variables, or a JSON file given with --config):
${describeSettings()}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command !== 'start') {
    console.error(`ledgerstream: unknown command "${command}" (try: ledgerstream start)`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`ledgerstream: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const broker = await Broker.start(config);
  // Supervisors and tests wait for this line to know the port is open.
  console.log(`ledgerstream broker ${config.nodeId} listening on ${config.advertisedHost}:${broker.port}`);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      broker.log.info({ signal }, 'signal received');
      broker.stop().then(resolve, (err: unknown) => {
        broker.log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  if (process.exitCode === 1) return 1;
  if (broker.walBacklogBytesAtStop > 0) {
    console.error(`ledgerstream: stopped with ${broker.walBacklogBytesAtStop} bytes not in object storage (the store did not take them); `
      + 'they stay in the WAL and the next start uploads them: do not delete the data folder');
    return EXIT_WAL_NOT_UPLOADED;
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => {
  if (err instanceof StartupCheckError) {
    console.error(`ledgerstream: cannot start: ${err.message}`);
    process.exit(1);
  }
  if (err instanceof WalNoSpaceError) {
    // The WAL needs a few bytes to take its lock; without the lock nothing may write or trim it.
    console.error(`ledgerstream: cannot start: ${err.message}; free space on that disk and start again`);
    process.exit(1);
  }
  console.error('ledgerstream: failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
