/**
 * Broker membership against a real etcd: registration under a lease, keep-alives, re-registration,
 * graceful revoke, loss (lease revoked behind our back, etcd gone), the live-broker watch, and
 * the zombie check: a broker process SIGSTOPped past its TTL finds its lease invalid in the first
 * instant after SIGCONT, while etcd has already expired its key.
 *
 * etcd raises a TTL below its minimum (2 s with default election settings) to that minimum, so a
 * 1000 ms lease lives 2 s in etcd; validity on our side stays 1000 ms from the keep-alive's send.
 */
import { randomUUID } from 'node:crypto';
import { EtcdLeaseInvalidError } from '../../src/etcd/client.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Membership,
  decodeRegistration,
  type BrokerRegistration,
  type MembershipOptions,
} from '../../src/cluster/membership.js';
import { EtcdKeys } from '../../src/etcd/keys.js';
import { etcdPerFile } from '../helpers/etcd-per-file.js';
import { startEtcdServer } from '../helpers/etcd-server.js';
import { ChildBroker } from './child-broker.js';

const leaseTtlMs = 1_000;
/** What etcd actually grants for leaseTtlMs (its minimum TTL). */
const etcdTtlMs = 2_000;

const etcd = etcdPerFile();

const logged: string[] = [];
let prefix: string;
let keys: EtcdKeys;
const open: Membership[] = [];

beforeEach(() => {
  prefix = `/ledgerstream-test/${randomUUID()}/`;
  keys = new EtcdKeys(prefix);
});

afterEach(async () => {
  for (const membership of open.splice(0)) await membership.close();
  await etcd.raw.delete().prefix(prefix);
});

async function register(nodeId: number, extra: Partial<MembershipOptions> = {}):
  Promise<Membership> {
  const membership = await Membership.register({ hosts: etcd.server.endpoint, keyPrefix: prefix,
    endpoint: { nodeId, host: `broker-${nodeId}.test`, port: 9092, rack: nodeId % 2 ? 'a' : null },
    leaseTtlMs, log: (message) => logged.push(message), ...extra });
  open.push(membership);
  return membership;
}

async function registrationOf(nodeId: number): Promise<{ value: BrokerRegistration;
  lease: string } | null> {
  const response = await etcd.raw.kv.range({ key: Buffer.from(keys.broker(nodeId)) });
  const [kv] = response.kvs;
  return kv === undefined ? null : { value: decodeRegistration(kv.value), lease: kv.lease };
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

describe('membership', () => {
  it('registers the broker under a lease and keeps it alive for many TTLs', async () => {
    const membership = await register(3, { wallClockMs: () => 1_700_000_000_123 });
    expect(membership.state()).toBe('registered');
    expect(await registrationOf(3)).toEqual({ lease: membership.leaseId(), value: {
      nodeId: 3, host: 'broker-3.test', port: 9092, rack: 'a', startedAtMs: 1_700_000_000_123,
      ackWindowMs: leaseTtlMs } });
    const ttl = await etcd.raw.leaseClient.leaseTimeToLive({ ID: membership.leaseId() });
    expect(Number(ttl.grantedTTL) * 1_000).toBe(etcdTtlMs);

    // For 3 etcd TTLs the key stays and the lease stays valid, never more than a TTL ahead.
    let samples = 0;
    for (const endMs = performance.now() + 3 * etcdTtlMs; performance.now() < endMs; samples++) {
      const nowMs = performance.now();
      expect(membership.isLeaseValid(nowMs)).toBe(true);
      expect(membership.leaseValidUntilMs() - nowMs).toBeLessThanOrEqual(leaseTtlMs);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(samples).toBeGreaterThan(50);
    expect((await registrationOf(3))?.lease).toBe(membership.leaseId());
    expect(membership.state()).toBe('registered');
  });

  it('acknowledges only within its window of the last confirmed keep-alive, and keeps the lease',
    async () => {
      // A lease of 6 s, a window of 300 ms: keep-alives every 100 ms hold validity up, never
      // more than the window ahead; the registration publishes the window for the controller.
      const membership = await register(5, { leaseTtlMs: 6_000, ackWindowMs: 300 });
      expect(membership.ackWindowMs).toBe(300);
      expect((await registrationOf(5))?.value.ackWindowMs).toBe(300);
      let valid = 0;
      let samples = 0;
      for (const endMs = performance.now() + 1_500; performance.now() < endMs; samples++) {
        const nowMs = performance.now();
        if (membership.isLeaseValid(nowMs)) valid++;
        expect(membership.leaseValidUntilMs() - nowMs).toBeLessThanOrEqual(300);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(valid).toBeGreaterThan(samples * 0.8); // renewed well within the window
      // A window longer than the lease is the lease.
      const longer = await register(6, { leaseTtlMs: 2_000, ackWindowMs: 5_000 });
      expect(longer.ackWindowMs).toBe(2_000);
    });

  it('computes validity from the send time of the last confirmed keep-alive, minus a margin',
    async () => {
      let nowMs = 10_000; // frozen: no keep-alive can move validity past what the grant gave
      const membership = await register(4, { monotonicNowMs: () => nowMs,
        leaseSafetyMarginMs: 100 });
      expect(membership.leaseValidUntilMs()).toBe(10_000 + leaseTtlMs - 100);
      expect(membership.isLeaseValid(10_899)).toBe(true);
      expect(membership.isLeaseValid(10_900)).toBe(false);
      nowMs = 10_500; // the next keep-alive is sent "at" 10_500: validity moves to 11_400
      await within(2_000, () => membership.leaseValidUntilMs() === 10_500 + leaseTtlMs - 100);
      expect(membership.isLeaseValid(11_399)).toBe(true);
      expect(membership.isLeaseValid(11_400)).toBe(false);
      // A clock that jumps past the granted TTL since the last confirmation: a pause; lost.
      const lost = new Promise<void>((resolve) => membership.once('lost', () => resolve()));
      nowMs = 10_500 + etcdTtlMs;
      await lost;
      expect(membership.state()).toBe('lost');
    });

  it('puts the key back when it vanishes while the lease lives', async () => {
    const membership = await register(5);
    await etcd.raw.delete().key(keys.broker(5));
    const tookMs = await within(1_000, async () => (await registrationOf(5)) !== null);
    expect((await registrationOf(5))?.lease).toBe(membership.leaseId());
    expect(tookMs).toBeLessThan(500);
    expect(membership.isLeaseValid()).toBe(true);
  });

  it('revokes gracefully: the key is gone at once and no loss is reported', async () => {
    const membership = await register(6);
    let lost = false;
    membership.on('lost', () => {
      lost = true;
    });
    const startMs = performance.now();
    await membership.revoke();
    const revokeMs = performance.now() - startMs;
    expect(await registrationOf(6)).toBeNull();
    expect(revokeMs).toBeLessThan(500);
    expect(membership.state()).toBe('revoked');
    expect(membership.isLeaseValid()).toBe(false);
    await membership.revoke(); // idempotent
    await new Promise((resolve) => setTimeout(resolve, leaseTtlMs));
    expect(lost).toBe(false);
    expect(await registrationOf(6)).toBeNull(); // and nothing re-registers it
  });

  it('reports the loss when etcd drops the lease, within one keep-alive interval', async () => {
    const membership = await register(7);
    const lost = new Promise<Error>((resolve) => membership.once('lost', resolve));
    const startMs = performance.now();
    await etcd.raw.leaseClient.leaseRevoke({ ID: membership.leaseId() }); // e.g. an operator's doing
    const reason = await lost;
    const lostAfterMs = performance.now() - startMs;
    console.info(`membership: lease revoked behind its back, 'lost' after ${
      Math.round(lostAfterMs)} ms`);
    expect(reason).toBeInstanceOf(EtcdLeaseInvalidError);
    expect(lostAfterMs).toBeLessThan(leaseTtlMs);
    expect(membership.state()).toBe('lost');
    expect(membership.isLeaseValid()).toBe(false);
    expect(await registrationOf(7)).toBeNull();
  });

  it('watches the live broker set', async () => {
    const seen: number[][] = [];
    const first = await register(1);
    const watch = await first.watchBrokers((brokers) => seen.push(brokers.map((b) => b.nodeId)));
    try {
      expect(seen).toEqual([[1]]);
      const second = await register(2);
      await within(1_000, () => seen.at(-1)?.join() === '1,2');
      await second.revoke();
      await within(1_000, () => seen.at(-1)?.join() === '1');
      await register(10);
      await within(1_000, () => seen.at(-1)?.join() === '1,10');
      expect([...watch.entries().keys()]).toEqual([keys.broker(1), keys.broker(10)]);
    } finally {
      await watch.close();
    }
  });
});

describe('membership loss', () => {
  it('turns invalid after a TTL and reports the loss after etcd\'s TTL when etcd is gone',
    async () => {
      const lonely = await startEtcdServer();
      const membership = await Membership.register({ hosts: lonely.endpoint, leaseTtlMs,
        endpoint: { nodeId: 1, host: 'h', port: 1, rack: null }, callTimeoutMs: 500,
        log: () => undefined });
      try {
        const lost = new Promise<void>((resolve) => membership.once('lost', () => resolve()));
        const validUntilMs = membership.leaseValidUntilMs();
        await lonely.stop();
        const stoppedMs = performance.now();
        await lost;
        const lostAfterMs = performance.now() - stoppedMs;
        console.info(`membership: etcd stopped; lease invalid ${Math.round(validUntilMs -
          stoppedMs)} ms later, 'lost' after ${Math.round(lostAfterMs)} ms`);
        expect(membership.isLeaseValid()).toBe(false);
        expect(validUntilMs - stoppedMs).toBeLessThanOrEqual(leaseTtlMs);
        expect(lostAfterMs).toBeLessThan(etcdTtlMs + leaseTtlMs);
      } finally {
        await membership.close();
      }
    });
});

describe('membership of a stopped process', () => {
  let child: ChildBroker | null = null;
  afterEach(async () => {
    await child?.kill();
    child = null;
  });

  it('is invalid in the first instant after SIGCONT, and etcd has expired the key', async () => {
    child = ChildBroker.start(etcd.server.endpoint, prefix, 21, leaseTtlMs);
    await child.waitFor('registered');
    const lease = (await registrationOf(21))?.lease;
    expect(lease).toBeDefined();
    // Let a keep-alive or two go by, then stop the child inside its synchronous loop.
    await new Promise((resolve) => setTimeout(resolve, leaseTtlMs));
    child.send('spin 60000');
    expect(await child.waitFor('spinning')).toBe('spinning valid=true');
    child.signal('SIGSTOP');
    const stoppedMs = performance.now();
    const expiredAfterMs = await within(3 * etcdTtlMs,
      async () => (await registrationOf(21)) === null);
    console.info(`membership: SIGSTOP; etcd expired the key after ${Math.round(expiredAfterMs)
    } ms (granted TTL ${etcdTtlMs} ms)`);
    expect(expiredAfterMs).toBeGreaterThan(leaseTtlMs);
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.signal('SIGCONT');

    const gap = await child.waitFor('gap');
    const match = /^gap (\d+) valid=(\w+) overdueMs=(-?\d+) lostEmitted=(\w+)$/.exec(gap);
    expect(match).not.toBeNull();
    const [, gapMs, valid, overdueMs, lostEmitted] = match!;
    expect(Number(gapMs)).toBeGreaterThan(expiredAfterMs);
    expect(valid).toBe('false'); // before any callback ran...
    expect(lostEmitted).toBe('false'); // ...which is why the loss was not yet reported
    expect(Number(overdueMs)).toBeGreaterThan(0);
    console.info(`membership: stopped ${Math.round(performance.now() - stoppedMs)} ms; ` +
      `first check after SIGCONT: valid=${valid}, ${overdueMs} ms past validity`);
    await child.waitFor('spun');
    expect(await child.waitFor('lost')).toMatch(/^lost /); // once its callbacks run
    expect(await registrationOf(21)).toBeNull(); // and it does not come back on its own
  });
});
