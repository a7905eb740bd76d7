/**
 * The controller campaign against a real etcd, through the interleavings an etcd pause produces:
 * a cluster whose brokers are live must end up with a controller, whatever order the controller
 * key's deletion and each broker's lease confirmation arrive in. The faults (answers late or lost
 * on the way back from etcd) are injected at the etcd client (test/helpers/etcd-faults.ts), so
 * each race happens every run:
 *  - the key goes while a candidate's lease is alive in etcd but not yet confirmed to it (it may
 *    not campaign at that moment, and must once its lease is confirmed);
 *  - a candidate registers with a lease granted late (the grant was sent while etcd was paused),
 *    so its first look at the absent key comes before its lease is confirmed: the chaos run's
 *    "rejoined the cluster, controller -1" with no controller ever after;
 *  - a watch that misses the key's deletion (a watch stream waiting out its reconnect backoff);
 *  - no controller for longer than the warning threshold is logged, with why this broker is not it.
 */
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Controller } from '../../src/cluster/controller.js';
import { Membership } from '../../src/cluster/membership.js';
import { EtcdMetadata } from '../../src/metadata/etcd/metadata.js';
import { EtcdKeys } from '../../src/etcd/keys.js';
import { etcdPerFile } from '../helpers/etcd-per-file.js';
import { etcdServerLimits } from '../helpers/etcd-server.js';
import {
  type EtcdClientFaults, etcdClientWithFaults, noEtcdFaults,
} from '../helpers/etcd-faults.js';

/** Long, so that a lease left unconfirmed for a few seconds is not lost; the window is short, so
 *  that it is unconfirmed (not valid) after one second without answers. */
const leaseTtlMs = 10_000;
const ackWindowMs = 1_000;
/** Generous: a campaign that can still happen happens within a few retries. */
const electedWithinMs = 5_000;

const etcd = etcdPerFile();
const quiet = (): void => undefined;
let prefix: string;
let keys: EtcdKeys;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  prefix = `/ledgerstream-test/${randomUUID()}/`;
  keys = new EtcdKeys(prefix);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await etcd.raw.delete().prefix(prefix);
});

interface Candidate {
  membership: Membership;
  controller: Controller;
  faults: EtcdClientFaults;
  warnings: string[];
}

/** A broker's membership and controller on an etcd client whose answers `faults` delay or drop. */
async function startCandidate(nodeId: number, faults: EtcdClientFaults = noEtcdFaults(),
  options: { keyCheckIntervalMs?: number; noControllerWarnMs?: number } = {}): Promise<Candidate> {
  const real = new Etcd3({ hosts: etcd.server.endpoint });
  const warnings: string[] = [];
  const log = (message: string): void => void warnings.push(message);
  const membership = await Membership.register({ hosts: etcd.server.endpoint,
    client: etcdClientWithFaults(real, faults), keyPrefix: prefix, leaseTtlMs, ackWindowMs,
    endpoint: { nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack: null }, log: quiet });
  const coordinator = await EtcdMetadata.open({ hosts: etcd.server.endpoint, keyPrefix: prefix,
    txnOpsMax: etcdServerLimits.txnOpsMax, log: quiet });
  const controller = await Controller.start({ membership, coordinator, log, ...options });
  cleanups.push(async () => {
    await controller.close();
    await coordinator.close();
    await membership.close();
    real.close();
  });
  return { membership, controller, faults, warnings };
}

async function within(deadlineMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const startMs = performance.now();
  while (!(await check())) {
    if (performance.now() - startMs > deadlineMs) throw new Error(`not within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function controllerKeyHolder(): Promise<number | null> {
  const [kv] = (await etcd.raw.kv.range({ key: Buffer.from(keys.controller()) })).kvs;
  return kv === undefined ? null : (JSON.parse(kv.value.toString()) as { nodeId: number }).nodeId;
}

it('campaigns once its lease is confirmed when the key went while it was unconfirmed', async () => {
  const first = await startCandidate(1);
  await within(electedWithinMs, () => first.controller.isActive());
  const second = await startCandidate(2);
  await within(electedWithinMs, () => second.controller.controllerId() === 1);

  second.faults.dropKeepAliveAnswers = true;
  await within(electedWithinMs, () => !second.membership.isLeaseValid());
  expect(second.membership.state()).toBe('registered'); // alive in etcd, merely unconfirmed
  await etcd.raw.leaseClient.leaseRevoke({ ID: first.membership.leaseId() });
  await within(electedWithinMs, () => second.controller.controllerId() === -1);
  expect(second.controller.isActive()).toBe(false);

  second.faults.dropKeepAliveAnswers = false;
  await within(electedWithinMs, () => second.controller.isActive());
  expect(await controllerKeyHolder()).toBe(2);
});

it('campaigns after registering with a lease granted late, as after an etcd pause', async () => {
  const faults = { ...noEtcdFaults(), leaseGrantDelayMs: ackWindowMs, dropKeepAliveAnswers: true };
  const candidates = await Promise.all([1, 2, 3].map((nodeId) =>
    startCandidate(nodeId, { ...faults })));
  for (const { membership, controller } of candidates) {
    expect(membership.isLeaseValid()).toBe(false); // older than its window on arrival
    expect(controller.controllerId()).toBe(-1); // saw the key absent, could not campaign
  }
  for (const candidate of candidates) candidate.faults.dropKeepAliveAnswers = false;
  await within(electedWithinMs, () => candidates.some((c) => c.controller.isActive()));
  const elected = candidates.filter((c) => c.controller.isActive());
  expect(elected).toHaveLength(1);
  await within(electedWithinMs, () => candidates.every((c) =>
    c.controller.controllerId() === elected[0]!.membership.nodeId));
  expect(await controllerKeyHolder()).toBe(elected[0]!.membership.nodeId);
});

it('finds the key gone by reading it when its watch missed the deletion', async () => {
  const first = await startCandidate(1);
  await within(electedWithinMs, () => first.controller.isActive());
  const second = await startCandidate(2, noEtcdFaults(), { keyCheckIntervalMs: 200 });
  await within(electedWithinMs, () => second.controller.controllerId() === 1);

  second.faults.dropWatchEventsOf = (key) => key === keys.controller();
  await etcd.raw.leaseClient.leaseRevoke({ ID: first.membership.leaseId() });
  await within(electedWithinMs, () => second.controller.isActive());
  expect(await controllerKeyHolder()).toBe(2);
});

it('warns while no controller is known past the threshold, saying why it is not one', async () => {
  const faults = { ...noEtcdFaults(), leaseGrantDelayMs: ackWindowMs, dropKeepAliveAnswers: true };
  const lone = await startCandidate(1, faults,
    { noControllerWarnMs: 500, keyCheckIntervalMs: 200 });
  await within(electedWithinMs, () => lone.warnings.some((w) => w.startsWith('no controller')));
  expect(lone.warnings.find((w) => w.startsWith('no controller'))).toMatch(/lease unconfirmed/);
  lone.faults.dropKeepAliveAnswers = false;
  await within(electedWithinMs, () => lone.controller.isActive());
});
