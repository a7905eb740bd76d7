/**
 * `ledgerstream start [--setting value ...]`: starts a broker with embedded defaults (local
 * object folder and coordinator under ./data, 127.0.0.1:9092). A bad setting stops start-up with
 * one line naming it (exit 2). SIGTERM or SIGINT shut down gracefully (exit 0; exit 3 with one line
 * when the object store did not take the WAL's data, which then waits in the WAL for the next start).
 */
import { Broker } from '../broker/broker.js';
import { StartupCheckError } from '../broker/startup-checks.js';
import { ConfigError, describeSettings, loadConfig } from '../config/config.js';
import { WalNoSpaceError } from '../../storage/wal/errors.js';

/** Exit code of a graceful stop that left acknowledged data only in the WAL. */
const EXIT_WAL_NOT_UPLOADED = 3;

export const START_USAGE = `usage: ledgerstream start [--setting value ...]

Settings (flags, LEDGERSTREAM_* environment variables, or a JSON file given with --config):
${describeSettings()}`;

export async function runStart(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(START_USAGE);
    return 0;
  }
  let config;
  try {
    config = loadConfig([...args]);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`ledgerstream: ${err.message}`);
      return 2;
    }
    throw err;
  }
  let broker: Broker;
  try {
    broker = await Broker.start(config);
  } catch (err) {
    return startFailed(err);
  }
  // Supervisors and tests wait for this line to know the port is open.
  // The advertised port differs from the bound one behind a mapped port (a container): say both.
  const advertisedPort = config.advertisedPort === 0 ? broker.port : config.advertisedPort;
  const advertisedNote = advertisedPort === broker.port ? ''
    : ` (clients are told ${config.advertisedHost}:${advertisedPort})`;
  console.log(`ledgerstream broker ${config.nodeId} listening on ${config.advertisedHost}:${broker.port}` +
    advertisedNote);
  for (const [name, port] of broker.listenerPorts()) {
    console.log(`listener ${name} on port ${port}`);
  }
  const failed = await new Promise<boolean>((resolve) => {
    const onSignal = (signal: string) => {
      broker.log.info({ signal }, 'signal received');
      broker.stop().then(() => resolve(false), (err: unknown) => {
        broker.log.error({ err }, 'shutdown failed');
        resolve(true);
      });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  if (failed) return 1;
  if (broker.walBacklogBytesAtStop > 0) {
    console.error(`ledgerstream: stopped with ${broker.walBacklogBytesAtStop} bytes not in object storage (the store did not take them); `
      + 'they stay in the WAL and the next start uploads them: do not delete the data folder');
    return EXIT_WAL_NOT_UPLOADED;
  }
  return 0;
}

function startFailed(err: unknown): number {
  if (err instanceof StartupCheckError) {
    console.error(`ledgerstream: cannot start: ${err.message}`);
  } else if (err instanceof WalNoSpaceError) {
    // The WAL needs a few bytes to take its lock; without the lock nothing may write or trim it.
    console.error(`ledgerstream: cannot start: ${err.message}; free space on that disk and start again`);
  } else {
    console.error('ledgerstream: failed to start:', err instanceof Error ? err.message : err);
  }
  return 1;
}
