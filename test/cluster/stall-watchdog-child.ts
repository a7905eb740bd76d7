/**
 * Child of stall-watchdog.test.ts: starts a StallWatchdog (2 s) that is to kill `victimPid`, prints
 * 'spinning', then loops on resolved promises for ever, as kafkajs's stranded fetchers did.
 * Usage: stall-watchdog-child.ts <victimPid>
 */
import { StallWatchdog } from '../helpers/stall-watchdog.js';

const victimPid = Number(process.argv[2]);
if (!Number.isInteger(victimPid) || victimPid <= 0) {
  throw new Error('usage: stall-watchdog-child.ts <pid>');
}
new StallWatchdog('stall-watchdog-child', 2000, () => [victimPid], () => 'about to spin');
// Let the watchdog's worker start and the first beats pass before the loop stops turning.
await new Promise((resolve) => setTimeout(resolve, 500));
process.stdout.write('spinning\n');
for (;;) await Promise.resolve();
