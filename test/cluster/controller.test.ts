/**
 * The controller against a real etcd: one controller among several candidates (separate etcd
 * clients in this process, and broker child processes that are SIGKILLed or SIGSTOPped), takeover
 * when the controller resigns or dies, reassignment of a dead broker's partitions (epochs bumped,
 * recoverFrom = the dead broker, balanced over the rest), and handoff requests when a broker joins.
 *
 * Leases here are 2000 ms, etcd's minimum with default settings, so the TTL we ask for is the one
 * etcd applies and "about one TTL" means what it says.
 *
 * The campaign through the interleavings an etcd pause produces: a cluster whose brokers are live
 * must end up with a controller, whatever order the key's deletion and each broker's lease
 * confirmation arrive in. The faults (answers late or lost on the way back from etcd) are injected
 * at the etcd client (test/helpers/etcd-faults.ts), so each race happens every run:
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
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Controller, decodeHandoff, type HandoffRequest } from '../../src/cluster/controller.js';
import { Membership } from '../../src/cluster/membership.js';
import { EtcdMetadata } from '../../src/metadata/etcd/metadata.js';
import { EtcdKeys, prefixEnd } from '../../src/etcd/keys.js';
import { etcdPerFile } from '../helpers/etcd-per-file.js';
import { etcdServerLimits } from '../helpers/etcd-server.js';
import {
  type EtcdClientFaults, etcdClientWithFaults, noEtcdFaults,
} from '../helpers/etcd-faults.js';
import { topicRecord } from '../metadata/contract/fixtures.js';
import { ChildBroker } from './child-broker.js';

const leaseTtlMs = 2_000;
const debounceMs = 20;

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

interface Node {
  membership: Membership;
  coordinator: EtcdMetadata;
  controller: Controller | null;
  close(): Promise<void>;
}

/** A broker's control plane in this process, on its own etcd clients. */
async function startNode(nodeId: number, withController = true,
  info?: (fields: Record<string, unknown>, message: string) => void): Promise<Node> {
  const membership = await Membership.register({ hosts: etcd.server.endpoint, keyPrefix: prefix,
    endpoint: { nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack: null }, leaseTtlMs,
    log: quiet });
  const coordinator = await EtcdMetadata.open({ hosts: etcd.server.endpoint, keyPrefix: prefix,
    txnOpsMax: etcdServerLimits.txnOpsMax, log: quiet });
  const controller = withController
    ? await Controller.start({ membership, coordinator, debounceMs, log: quiet, info }) : null;
  let closed = false;
  const node: Node = { membership, coordinator, controller, close: async () => {
    if (closed) return;
    closed = true;
    await controller?.close();
    await coordinator.close();
    await membership.close();
  } };
  cleanups.push(node.close);
  return node;
}

function startChild(nodeId: number, mode: 'membership' | 'controller'): ChildBroker {
  const child = ChildBroker.start(etcd.server.endpoint, prefix, nodeId, leaseTtlMs, mode);
  cleanups.push(() => child.kill());
  return child;
}

/** Polls until `check` holds; returns how long it took. */
async function within(deadlineMs: number, check: () => Promise<boolean> | boolean):
  Promise<number> {
  const startMs = performance.now();
  while (!(await check())) {
    if (performance.now() - startMs > deadlineMs) throw new Error(`not within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - startMs;
}

/** Broker 1, the active controller, leading every partition of a new topic. */
async function controllerLeading(name: string, partitions: number) {
  const first = await startNode(1);
  await within(2_000, () => first.controller!.isActive());
  const c = first.coordinator;
  const topic = topicRecord(name, partitions);
  await c.topics.create(topic, 1);
  return { first, c, topic };
}

async function controllerKey(): Promise<{ nodeId: number; lease: string } | null> {
  const [kv] = (await etcd.raw.kv.range({ key: Buffer.from(keys.controller()) })).kvs;
  if (kv === undefined) return null;
  return { nodeId: (JSON.parse(kv.value.toString()) as { nodeId: number }).nodeId,
    lease: kv.lease };
}

async function handoffs(): Promise<Map<number, HandoffRequest & { lease: string }>> {
  const prefixKey = keys.handoffPrefix();
  const response = await etcd.raw.kv.range({ key: Buffer.from(prefixKey),
    range_end: prefixEnd(prefixKey) });
  return new Map(response.kvs.map((kv) => [keys.partitionOfHandoffKey(kv.key.toString()).partition,
    { ...decodeHandoff(kv.value), lease: kv.lease }]));
}

async function leadership(c: EtcdMetadata, topicId: string):
  Promise<[number, number, number][]> {
  return (await c.leadership.states(topicId)).map((s) => [s.leaderId, s.leaderEpoch,
    s.recoverFrom]);
}

describe('controller election', () => {
  it('elects exactly one of three candidates, whom all of them name', async () => {
    const nodes = await Promise.all([1, 2, 3].map((nodeId) => startNode(nodeId)));
    await within(2_000, () => nodes.filter((n) => n.controller!.isActive()).length === 1);
    const active = nodes.find((n) => n.controller!.isActive())!;
    await within(1_000, () => nodes.every((n) =>
      n.controller!.controllerId() === active.membership.nodeId));
    expect(await controllerKey()).toEqual(
      { nodeId: active.membership.nodeId, lease: active.membership.leaseId() });
    expect(active.controller!.controllerEpoch()).toBeGreaterThan(0);
    // Stable: nobody else steps up while the controller lives.
    await new Promise((resolve) => setTimeout(resolve, leaseTtlMs));
    expect(nodes.filter((n) => n.controller!.isActive())).toEqual([active]);
  });

  it('hands over at once when the controller resigns', async () => {
    const nodes = await Promise.all([1, 2].map((nodeId) => startNode(nodeId)));
    await within(2_000, () => nodes.some((n) => n.controller!.isActive()));
    const [active, other] = nodes[0]!.controller!.isActive() ? nodes : [nodes[1]!, nodes[0]!];
    const oldEpoch = active!.controller!.controllerEpoch();
    const startMs = performance.now();
    await active!.controller!.close();
    const tookMs = await within(2_000, () => other!.controller!.isActive());
    console.info(`controller: resigned; successor elected after ${Math.round(
      performance.now() - startMs)} ms`);
    expect(tookMs).toBeLessThan(500);
    expect(other!.controller!.controllerEpoch()).toBeGreaterThan(oldEpoch);
    expect((await controllerKey())?.nodeId).toBe(other!.membership.nodeId);
  });

  it('a successor logs the live brokers without the controller that left (failover timing)', async () => {
    const logged: { node: number; brokers: unknown }[] = [];
    const nodes = await Promise.all([1, 2].map((nodeId) => startNode(nodeId, true, (fields, message) => {
      if (message === 'live brokers changed' || message === 'became the controller') {
        logged.push({ node: nodeId, brokers: fields['brokers'] });
      }
    })));
    await within(2_000, () => nodes.some((n) => n.controller!.isActive()));
    const [active, other] = nodes[0]!.controller!.isActive() ? nodes : [nodes[1]!, nodes[0]!];
    await within(2_000, () => logged.some((l) => JSON.stringify(l.brokers) === '[1,2]'));
    // The lease goes, and the controller key with it: only the successor can see it gone.
    await active!.membership.revoke();
    await within(2_000, () => other!.controller!.isActive());
    await within(2_000, () => logged.some((l) => l.node === other!.membership.nodeId &&
      JSON.stringify(l.brokers) === JSON.stringify([other!.membership.nodeId])));
  });

  it('takes over within about one lease TTL when the controller process is killed',
    async () => {
      const children = [11, 12, 13].map((nodeId) => startChild(nodeId, 'controller'));
      await Promise.all(children.map((c) => c.waitFor('registered')));
      await within(10_000, async () => (await controllerKey()) !== null);
      const first = (await controllerKey())!.nodeId;
      const leader = children[first - 11]!;
      await leader.waitFor('elected');
      expect(children.filter((c) => c.lines.some((l) => l.startsWith('elected')))).toEqual(
        [leader]);

      const killedMs = performance.now();
      await leader.kill();
      const tookMs = await within(3 * leaseTtlMs, async () => {
        const holder = await controllerKey();
        return holder !== null && holder.nodeId !== first;
      });
      const successor = children[(await controllerKey())!.nodeId - 11]!;
      await successor.waitFor('elected');
      console.info(`controller: SIGKILLed; successor elected after ${Math.round(tookMs)} ms ` +
        `(lease TTL ${leaseTtlMs} ms), ${Math.round(performance.now() - killedMs)} ms ` +
        'until it reported it');
      expect(tookMs).toBeGreaterThan(leaseTtlMs / 2); // it had to wait for the lease to expire
      expect(tookMs).toBeLessThan(2 * leaseTtlMs);
      const elected = children.filter((c) => c !== leader &&
        c.lines.some((l) => l.startsWith('elected')));
      expect(elected).toEqual([successor]);
    });

  it('deposes a controller stopped past its lease; resumed, it knows it lost', async () => {
    const [a, b] = [startChild(21, 'controller'), startChild(22, 'controller')];
    await Promise.all([a.waitFor('registered'), b.waitFor('registered')]);
    await within(10_000, async () => (await controllerKey()) !== null);
    const first = (await controllerKey())!.nodeId;
    const [stopped, other] = first === 21 ? [a, b] : [b, a];
    await stopped.waitFor('elected');
    stopped.signal('SIGSTOP');
    const tookMs = await within(3 * leaseTtlMs, async () =>
      (await controllerKey())?.nodeId === (first === 21 ? 22 : 21));
    await other.waitFor('elected');
    console.info(`controller: SIGSTOPped; successor elected after ${Math.round(tookMs)} ms`);
    const linesBefore = stopped.lines.length;
    stopped.signal('SIGCONT');
    await stopped.waitFor('lost', 5_000, linesBefore);
    await stopped.waitFor('resigned', 5_000, linesBefore);
    expect((await controllerKey())?.nodeId).toBe(first === 21 ? 22 : 21);
  });
});

describe('controller placement', () => {
  it('reassigns a dead broker\'s partitions over the live ones, fenced and to be recovered',
    async () => {
      const nodes = [await startNode(1), await startNode(2)];
      const doomed = startChild(3, 'membership');
      await doomed.waitFor('registered');
      const c = nodes[0]!.coordinator;
      const topic = topicRecord('placed', 6);
      await c.topics.create(topic, 3); // all on 3, which is live: only handoffs may move them
      const t = topic.topicId;
      await within(2_000, async () => (await handoffs()).size === 4);
      for (const [partition, to] of [[0, 1], [3, 1], [1, 2], [4, 2]] as const) {
        await c.leadership.release(t, partition, 0, to); // what the broker wiring would do
      }
      await within(2_000, async () => (await handoffs()).size === 0); // balanced: 2, 2, 2
      expect(await leadership(c, t)).toEqual(
        [[1, 1, -1], [2, 1, -1], [3, 0, -1], [1, 1, -1], [2, 1, -1], [3, 0, -1]]);

      const killedMs = performance.now();
      await doomed.kill();
      const tookMs = await within(3 * leaseTtlMs, async () =>
        (await leadership(c, t)).every(([leaderId]) => leaderId !== 3));
      console.info(`controller: broker SIGKILLed; its partitions reassigned after ${
        Math.round(tookMs)} ms (lease TTL ${leaseTtlMs} ms)`);
      expect(performance.now() - killedMs).toBeLessThan(2 * leaseTtlMs);
      // p2 and p5: epoch 0 → 1, one each to 1 and 2 (tie → lowest id first), recovering from 3.
      expect(await leadership(c, t)).toEqual(
        [[1, 1, -1], [2, 1, -1], [1, 1, 3], [1, 1, -1], [2, 1, -1], [2, 1, 3]]);
      expect((await handoffs()).size).toBe(0);
    });

  it('writes handoff requests when a broker joins and drops each once it is released',
    async () => {
      const { first, c, topic } = await controllerLeading('rebalanced', 4);
      const t = topic.topicId;
      await new Promise((resolve) => setTimeout(resolve, 10 * debounceMs));
      expect((await handoffs()).size).toBe(0); // one broker: nothing to balance

      const joinedMs = performance.now();
      await startNode(2, false); // a broker without a controller of its own
      const tookMs = await within(2_000, async () => (await handoffs()).size === 2);
      console.info(`controller: broker joined; handoff requests written after ${
        Math.round(tookMs)} ms`);
      expect(performance.now() - joinedMs).toBeLessThan(1_000);
      const lease = first.membership.leaseId();
      expect(await handoffs()).toEqual(new Map([
        [3, { fromLeaderId: 1, toLeaderId: 2, epoch: 0, lease }],
        [2, { fromLeaderId: 1, toLeaderId: 2, epoch: 0, lease }]]));
      expect(await leadership(c, t)).toEqual([[1, 0, -1], [1, 0, -1], [1, 0, -1], [1, 0, -1]]);

      await c.leadership.release(t, 3, 0, 2); // the wiring flushed p3 and let go
      await within(2_000, async () => !(await handoffs()).has(3));
      expect([...(await handoffs()).keys()]).toEqual([2]);
      await c.leadership.release(t, 2, 0, 2);
      await within(2_000, async () => (await handoffs()).size === 0);
      expect(await leadership(c, t)).toEqual([[1, 0, -1], [1, 0, -1], [2, 1, -1], [2, 1, -1]]);
    });

  it('withdraws handoffs to a broker that leaves, and places leaderless partitions', async () => {
    const { c } = await controllerLeading('loaded', 2);
    const joining = await startNode(2, false);
    await within(2_000, async () => (await handoffs()).size === 1);
    await joining.close(); // gracefully: the revoke removes it at once
    await within(2_000, async () => (await handoffs()).size === 0);

    const orphan = topicRecord('orphan', 3);
    await c.topics.create(orphan, -1);
    await within(2_000, async () =>
      (await leadership(c, orphan.topicId)).every(([leaderId]) => leaderId === 1));
    expect(await leadership(c, orphan.topicId)).toEqual([[1, 1, -1], [1, 1, -1], [1, 1, -1]]);
  });

  it('withdraws handoffs to a broker marked leaving, and plans none while it is still live',
    async () => {
      const { first } = await controllerLeading('drained', 4);
      const leaving = await startNode(2, false);
      await within(2_000, async () => (await handoffs()).size === 2);
      await leaving.membership.markLeaving(); // a SIGTERM's first step (ClusterMode.leave)
      await within(2_000, async () => (await handoffs()).size === 0);
      await first.controller!.reconcileNow(); // one more pass, with broker 2 still registered
      expect((await handoffs()).size).toBe(0);
      const [kv] = (await etcd.raw.kv.range({ key: Buffer.from(keys.broker(2)) })).kvs;
      expect(JSON.parse(kv!.value.toString())).toMatchObject({ nodeId: 2, leaving: true });
    });

  it('steps down when its lease is lost, and another controller takes over', async () => {
    const nodes = await Promise.all([1, 2].map((nodeId) => startNode(nodeId)));
    await within(2_000, () => nodes.some((n) => n.controller!.isActive()));
    const [active, other] = nodes[0]!.controller!.isActive() ? nodes : [nodes[1]!, nodes[0]!];
    const resigned = new Promise<void>((resolve) =>
      active!.controller!.once('resigned', () => resolve()));
    await etcd.raw.leaseClient.leaseRevoke({ ID: active!.membership.leaseId() });
    await resigned;
    expect(active!.controller!.isActive()).toBe(false);
    await within(2_000, () => other!.controller!.isActive());
    expect((await active!.controller!.reconcileNow()).reassigned).toEqual([]);
  });
});

/** Long, so that a lease left unconfirmed for a few seconds is not lost; the window is short, so
 *  that it is unconfirmed (not valid) after one second without answers. */
const campaignLeaseTtlMs = 10_000;
const ackWindowMs = 1_000;
/** Generous: a campaign that can still happen happens within a few retries. */
const electedWithinMs = 5_000;

/** A lease granted one window late whose keep-alives go unanswered: unconfirmed from the start. */
function lateUnconfirmedLease(): EtcdClientFaults {
  return { ...noEtcdFaults(), leaseGrantDelayMs: ackWindowMs, dropKeepAliveAnswers: true };
}

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
    client: etcdClientWithFaults(real, faults), keyPrefix: prefix, leaseTtlMs: campaignLeaseTtlMs,
    ackWindowMs,
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

describe('controller campaign through etcd faults', () => {
  it('campaigns once its lease is confirmed when the key went while it was not', async () => {
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
    expect((await controllerKey())?.nodeId).toBe(2);
  });

  it('campaigns after registering with a lease granted late, as after an etcd pause', async () => {
    const candidates = await Promise.all([1, 2, 3].map((nodeId) =>
      startCandidate(nodeId, lateUnconfirmedLease())));
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
    expect((await controllerKey())?.nodeId).toBe(elected[0]!.membership.nodeId);
  });

  it('finds the key gone by reading it when its watch missed the deletion', async () => {
    const first = await startCandidate(1);
    await within(electedWithinMs, () => first.controller.isActive());
    const second = await startCandidate(2, noEtcdFaults(), { keyCheckIntervalMs: 200 });
    await within(electedWithinMs, () => second.controller.controllerId() === 1);

    second.faults.dropWatchEventsOf = (key) => key === keys.controller();
    await etcd.raw.leaseClient.leaseRevoke({ ID: first.membership.leaseId() });
    await within(electedWithinMs, () => second.controller.isActive());
    expect((await controllerKey())?.nodeId).toBe(2);
  });

  it('warns while no controller is known past the threshold, saying why it is not', async () => {
    const faults = lateUnconfirmedLease();
    const lone = await startCandidate(1, faults,
      { noControllerWarnMs: 500, keyCheckIntervalMs: 200 });
    await within(electedWithinMs, () => lone.warnings.some((w) => w.startsWith('no controller')));
    expect(lone.warnings.find((w) => w.startsWith('no controller'))).toMatch(/lease unconfirmed/);
    lone.faults.dropKeepAliveAnswers = false;
    await within(electedWithinMs, () => lone.controller.isActive());
  });
});
