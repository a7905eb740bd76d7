/**
 * Child process for the cluster tests: a broker's membership (and, with `controller` as the 5th
 * argument, an etcd coordinator and a Controller) that the parent can SIGSTOP, SIGCONT or SIGKILL.
 *
 *   argv: <etcd endpoint> <key prefix> <nodeId> <leaseTtlMs> [controller]
 *
 * Lines on stdout (writeSync, so each is in the pipe before the next step):
 *   registered <leaseId> <validForMs>   the lease is granted and the key is put
 *   elected <epoch> | resigned           controller transitions (controller mode)
 *   lost <reason>                        the membership emitted 'lost'
 *   spinning valid=<bool>                `spin` started: a synchronous loop, no callbacks run
 *   gap <gapMs> valid=<bool> overdueMs=<n> lostEmitted=<bool>
 *                                        the loop saw the clock jump (the process was stopped)
 *                                        and checked the lease before anything else could run
 *   spun                                 the loop ended
 *   revoked                              `revoke` done
 *
 * Commands on stdin, one a line: `spin <ms>`, `revoke`.
 */
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Controller } from '../../src/cluster/controller.js';
import { Membership } from '../../src/cluster/membership.js';
import { EtcdMetadata } from '../../src/metadata/etcd/metadata.js';

/** A pause of the loop longer than this is taken for a SIGSTOP (the loop itself takes µs). */
const gapMsMin = 300;

function say(line: string): void {
  writeSync(1, line + '\n');
}

const [endpoint, keyPrefix, nodeIdText, leaseTtlMsText, mode] = process.argv.slice(2);
if (endpoint === undefined || keyPrefix === undefined || nodeIdText === undefined ||
  leaseTtlMsText === undefined) {
  throw new Error('usage: membership-child.ts <endpoint> <prefix> <nodeId> <leaseTtlMs>');
}
const nodeId = Number(nodeIdText);
const ignore = (): void => undefined;
const membership = await Membership.register({ hosts: endpoint, keyPrefix, log: ignore,
  endpoint: { nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack: null },
  leaseTtlMs: Number(leaseTtlMsText) });
let lostEmitted = false;
membership.on('lost', (reason) => {
  lostEmitted = true;
  say(`lost ${reason.message}`);
});
say(`registered ${membership.leaseId()} ` +
  `${Math.round(membership.leaseValidUntilMs() - performance.now())}`);

if (mode === 'controller') {
  const coordinator = await EtcdMetadata.open({ hosts: endpoint, keyPrefix, log: ignore });
  const controller = await Controller.start({ membership, coordinator, debounceMs: 20,
    log: ignore });
  controller.on('elected', (epoch) => say(`elected ${epoch}`));
  controller.on('resigned', () => say('resigned'));
  if (controller.isActive()) say(`elected ${controller.controllerEpoch()}`);
}

function spin(durationMs: number): void {
  // The clock is read BEFORE the line goes out: the parent may stop us the instant it arrives,
  // before the write even returns (the woken reader can preempt the writer on a busy machine).
  const startMs = performance.now();
  let lastMs = startMs;
  say(`spinning valid=${membership.isLeaseValid(startMs)}`);
  while (lastMs - startMs < durationMs) {
    const nowMs = performance.now();
    if (nowMs - lastMs > gapMsMin) {
      // First thing after the stop: no timer or I/O callback has run since the SIGCONT.
      const valid = membership.isLeaseValid(nowMs);
      const overdueMs = Math.round(nowMs - membership.leaseValidUntilMs());
      say(`gap ${Math.round(nowMs - lastMs)} valid=${valid} overdueMs=${overdueMs} ` +
        `lostEmitted=${lostEmitted}`);
      break;
    }
    lastMs = nowMs;
  }
  say('spun');
}

for await (const line of createInterface({ input: process.stdin })) {
  const [command, argument] = line.trim().split(' ');
  if (command === 'spin') spin(Number(argument));
  if (command === 'revoke') {
    await membership.revoke();
    say('revoked');
  }
}
process.exit(0); // stdin closed: the parent is done with us
