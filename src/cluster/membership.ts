/**
 * Broker membership through etcd: a live broker is one whose registration key exists.
 *
 * `Membership.register` grants an etcd lease (TTL `leaseTtlMs`), puts `brokers/<nodeId:010>` =
 * {nodeId, host, port, rack, startedAtMs} under it, and keeps the lease alive over one gRPC stream,
 * one keep-alive in flight at a time, every TTL/3 (as etcd's Go client). If the key vanishes while
 * the lease lives (someone deleted it), it is put back. When the broker dies or stalls, etcd
 * expires the lease, deletes the key, and the controller (controller.ts) sees the broker go.
 *
 * Zombie check. A broker that was paused (GC, SIGSTOP, a stalled VM) longer than the TTL has lost
 * its partitions to other brokers, but learns so only when some callback runs, and an
 * acknowledgement already in hand may run first. So the lease's validity is a pure function of the
 * MONOTONIC clock, checked without any I/O: `isLeaseValid(now)` is true only before
 *
 *   leaseValidUntilMs = (when the last keep-alive that etcd CONFIRMED was SENT)
 *                       + min(leaseTtlMs, TTL etcd granted) - safety margin
 *
 * (with `ackWindowMs` in place of the TTL when it is shorter: see below).
 *
 * Send time, not answer time: etcd restarts the TTL when it receives the keep-alive, which is
 * after we sent it, so the estimate errs early. performance.now() keeps running while the process
 * is stopped, so the first check after SIGCONT already says false, before any timer fires.
 * Note etcd raises small TTLs to its minimum (1.5 × election timeout, rounded up to whole seconds:
 * 2 s with default settings): the key then outlives `leaseTtlMs`, and validity stays the shorter.
 *
 * 'lost' is emitted once etcd answers that the lease is gone, or when no keep-alive was confirmed
 * for a whole granted TTL (etcd has then expired it, or is about to): the broker must stop serving
 * its partitions. The session is over; a new `Membership.register` starts another. `revoke()` is
 * the graceful way out: etcd deletes the key at once, so the controller need not wait a TTL.
 *
 * The acknowledgement window. A broker acknowledges only within `ackWindowMs` of a keep-alive etcd
 * confirmed (keep-alives go every window/3), however long the lease. So once the lease is revoked
 * (by anyone: a peer that saw this broker's port refuse connections, peer-probe.ts), this broker
 * acknowledges nothing `ackWindowMs` later, whether it is dead or not; a new leader that waits
 * that long after seeing the registration go may serve its partitions (leadership.ts; with a
 * shared WAL it fences the WAL instead and need not wait, storage/wal/fence.ts), while a broker
 * merely stalled for longer than the window but shorter than the lease keeps its lease. The
 * registration publishes the window, so peers know how long to wait.
 *
 * `KeySetWatch` (src/etcd/watch.ts: range read + watch from the next revision, reloaded when the
 * watch fails) feeds `watchBrokers` here, and the controller key and handoff requests.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import {
  EtcdLeaseInvalidError,
  openEtcdClient,
  type EtcdClient,
  type EtcdDuplexStream,
  type EtcdKeepAliveRequest,
  type EtcdKeepAliveResponse,
  type EtcdKeyValue,
} from '../etcd/client.js';
import { EtcdKeys, keyPrefixDefault } from '../etcd/keys.js';
import { KeySetWatch, defaultWatchLog } from '../etcd/watch.js';
import type { BrokerEndpoint } from './cluster-view.js';
import { membershipLimits } from '../limits.js';

/**
 * What a broker registers: its endpoint, when it started (wall clock, for operators), and its
 * acknowledgement window (absent in registrations of brokers from before there was one).
 */
export interface BrokerRegistration extends BrokerEndpoint {
  startedAtMs: number;
  ackWindowMs?: number;
  /**
   * Set by a broker that is shutting down gracefully, before it hands its partitions over: the
   * controller then moves nothing onto it (Kafka's controlled shutdown fences a stopping broker
   * the same way). Without it the controller saw the leaving broker lead nothing, handed it
   * partitions to even the load, and they moved again, through a WAL replay, once it was gone.
   */
  leaving?: boolean;
}

export function encodeRegistration(registration: BrokerRegistration): string {
  const { nodeId, host, port, rack, startedAtMs, ackWindowMs, listeners, leaving } = registration;
  return JSON.stringify({ nodeId, host, port, rack, startedAtMs, ackWindowMs, listeners,
    ...(leaving === true ? { leaving } : {}) });
}

export function decodeRegistration(value: Buffer): BrokerRegistration {
  const registration = JSON.parse(value.toString('utf8')) as BrokerRegistration;
  assert.ok(Number.isSafeInteger(registration.nodeId) && registration.nodeId >= 0, 'nodeId');
  assert.ok(typeof registration.host === 'string' && Number.isSafeInteger(registration.port));
  assert.ok(registration.rack === null || typeof registration.rack === 'string', 'rack');
  assert.ok(registration.listeners === undefined ||
    Object.values(registration.listeners).every((l) =>
    typeof l.host === 'string' && Number.isSafeInteger(l.port)), 'listeners');
  assert.ok(registration.ackWindowMs === undefined || (Number.isSafeInteger(registration.ackWindowMs) &&
    registration.ackWindowMs > 0), 'ackWindowMs');
  assert.ok(registration.leaving === undefined || typeof registration.leaving === 'boolean',
    'leaving');
  return registration;
}

export interface MembershipOptions {
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`. */
  hosts: string | string[];
  /**
   * An etcd client to use instead of a new one; it stays open when the membership closes (a
   * broker that rejoins after losing its lease keeps one client, and the watches on it).
   */
  client?: EtcdClient;
  /** The coordinator's key prefix; default `/ledgerstream/`. */
  keyPrefix?: string;
  endpoint: BrokerEndpoint;
  leaseTtlMs?: number;
  /** Acknowledge only this long after a confirmed keep-alive (see the file comment); default the TTL. */
  ackWindowMs?: number;
  /** Subtracted from the validity estimate; default 10% of the window, at least 50 ms. */
  leaseSafetyMarginMs?: number;
  callTimeoutMs?: number;
  /** Monotonic clock for lease validity; default performance.now. */
  monotonicNowMs?: () => number;
  /** Wall clock for `startedAtMs`; default Date.now. */
  wallClockMs?: () => number;
  /** Where background failures are reported; without it, process warnings. */
  log?: (message: string, error: unknown) => void;
}

export type MembershipState = 'registered' | 'lost' | 'revoked';

const warn = defaultWatchLog;

interface KeepAliveStream {
  stream: EtcdDuplexStream<EtcdKeepAliveRequest, EtcdKeepAliveResponse>;
  /** Monotonic send time of the keep-alive awaiting its answer, or null. */
  pendingSentAtMs: number | null;
}

export class Membership extends EventEmitter<{ lost: [reason: Error] }> {
  readonly keys: EtcdKeys;
  readonly nodeId: number;
  readonly leaseTtlMs: number;
  /** min(leaseTtlMs, the ackWindowMs option): validity never outlasts it. */
  readonly ackWindowMs: number;
  readonly leaseSafetyMarginMs: number;
  private readonly registration: BrokerRegistration;
  private readonly nowMs: () => number;
  private readonly log: (message: string, error: unknown) => void;
  private leaseIdValue = '0';
  private grantedTtlMs = 0;
  /** Send time of the newest keep-alive (or grant) etcd confirmed. */
  private confirmedSentAtMs = -Infinity;
  private validUntilMs = -Infinity;
  private stateValue: MembershipState = 'registered';
  private keepAlive: KeepAliveStream | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private keyWatch: KeySetWatch | null = null;
  private readonly ownsClient: boolean;

  private constructor(readonly client: EtcdClient, options: MembershipOptions) {
    super();
    this.keys = new EtcdKeys(options.keyPrefix ?? keyPrefixDefault);
    this.ownsClient = options.client === undefined;
    this.nodeId = options.endpoint.nodeId;
    this.leaseTtlMs = options.leaseTtlMs ?? membershipLimits.leaseTtlMsDefault;
    this.ackWindowMs = Math.min(this.leaseTtlMs, options.ackWindowMs ?? this.leaseTtlMs);
    this.leaseSafetyMarginMs = options.leaseSafetyMarginMs ?? Math.max(
      membershipLimits.safetyMarginMsMin,
      Math.floor(this.ackWindowMs * membershipLimits.safetyMarginTtlFraction));
    this.nowMs = options.monotonicNowMs ?? (() => performance.now());
    this.log = options.log ?? warn;
    this.registration = { ...options.endpoint,
      startedAtMs: (options.wallClockMs ?? Date.now)(), ackWindowMs: this.ackWindowMs };
    assert.ok(Number.isSafeInteger(this.nodeId) && this.nodeId >= 0, `nodeId ${this.nodeId}`);
    assert.ok(Number.isSafeInteger(this.leaseTtlMs) &&
      this.leaseTtlMs >= membershipLimits.leaseTtlMsMin, `leaseTtlMs ${this.leaseTtlMs}`);
    assert.ok(Number.isSafeInteger(this.ackWindowMs) && this.ackWindowMs >= membershipLimits.ackWindowMsMin,
      `ackWindowMs ${this.ackWindowMs}`);
    assert.ok(this.leaseSafetyMarginMs >= 0 &&
      this.leaseSafetyMarginMs < this.ackWindowMs / membershipLimits.keepAlivesPerTtl,
    'the safety margin leaves room for the next keep-alive');
  }

  /** Grants the lease, registers the broker under it and starts the keep-alives. */
  static async register(options: MembershipOptions): Promise<Membership> {
    const client = options.client ?? openEtcdClient({ hosts: options.hosts,
      callTimeoutMs: options.callTimeoutMs ?? membershipLimits.callTimeoutMsDefault });
    const membership = new Membership(client, options);
    try {
      await membership.start();
    } catch (error) {
      membership.stopBackground();
      // Granted but not registered: give the lease back rather than leave it to expire.
      if (membership.leaseIdValue !== '0') await membership.revokeLease();
      if (membership.ownsClient) client.close();
      throw error;
    }
    return membership;
  }

  /** The etcd lease id (decimal), for keys that must die with this broker (the controller's). */
  leaseId(): string {
    return this.leaseIdValue;
  }

  state(): MembershipState {
    return this.stateValue;
  }

  /** Monotonic time until which the lease is surely alive in etcd (see the file comment). */
  leaseValidUntilMs(): number {
    return this.validUntilMs;
  }

  /**
   * Whether etcd surely still holds the lease at monotonic time `nowMs`: check it right before
   * acknowledging a write. Pure arithmetic, so it is right even in the first instant after a
   * pause, before the keep-alive machinery has had a chance to notice anything.
   */
  isLeaseValid(nowMs: number = this.nowMs()): boolean {
    return this.stateValue === 'registered' && nowMs < this.validUntilMs;
  }

  /** The live brokers, from this broker's own etcd client (see `watchBrokers`). */
  watchBrokers(onChange: (brokers: BrokerRegistration[]) => void): Promise<KeySetWatch> {
    return watchBrokers(this.client, this.keys, onChange, this.log);
  }

  /**
   * The start of a graceful leave: the registration says `leaving` (see BrokerRegistration), so
   * the controller places nothing here any more; the broker stays live until `revoke`.
   */
  async markLeaving(): Promise<void> {
    if (this.stateValue !== 'registered') return;
    this.registration.leaving = true;
    await this.putRegistration();
  }

  /** Graceful leave: etcd deletes the registration (and any key under the lease) at once. */
  async revoke(): Promise<void> {
    if (this.stateValue === 'revoked') return;
    const wasRegistered = this.stateValue === 'registered';
    this.stateValue = 'revoked';
    this.validUntilMs = -Infinity;
    this.stopBackground();
    if (wasRegistered) await this.revokeLease();
  }

  /** Revokes (if still registered) and closes the etcd client, unless it was given. */
  async close(): Promise<void> {
    await this.revoke();
    if (this.ownsClient) this.client.close();
  }

  // Start-up

  private async start(): Promise<void> {
    const sentAtMs = this.nowMs();
    const grant = await this.client.leaseClient.leaseGrant(
      { TTL: Math.ceil(this.leaseTtlMs / 1_000) });
    this.leaseIdValue = grant.ID;
    this.grantedTtlMs = Number(grant.TTL) * 1_000;
    assert.ok(this.grantedTtlMs >= 1_000, `etcd granted a TTL of ${grant.TTL} s`);
    this.confirm(sentAtMs, this.grantedTtlMs);
    await this.putRegistration();
    const key = this.keys.broker(this.nodeId);
    this.keyWatch = await KeySetWatch.open(this.client, { key, exact: true },
      (entries) => this.onOwnKeyChange(entries.get(key) ?? null), this.log);
    this.scheduleKeepAlive(this.keepAliveIntervalMs());
  }

  private async putRegistration(): Promise<void> {
    try {
      await this.client.kv.put({ key: Buffer.from(this.keys.broker(this.nodeId)),
        value: Buffer.from(encodeRegistration(this.registration)), lease: this.leaseIdValue });
    } catch (error) {
      if (error instanceof EtcdLeaseInvalidError) this.lose(error);
      throw error;
    }
  }

  /** Puts the key back if it vanished while the lease lives; notes a duplicate node id. */
  private onOwnKeyChange(kv: EtcdKeyValue | null): void {
    if (this.stateValue !== 'registered') return;
    if (kv === null) {
      this.putRegistration().catch((error: unknown) => {
        if (this.stateValue === 'registered') this.log('re-registering the broker failed', error);
      });
    } else if (kv.lease !== this.leaseIdValue) {
      this.log(`node id ${this.nodeId} was registered under another lease`,
        new Error('two brokers share one node id?'));
    }
  }

  // Keep-alives

  private keepAliveIntervalMs(): number {
    return Math.floor(this.ackWindowMs / membershipLimits.keepAlivesPerTtl);
  }

  private confirm(sentAtMs: number, ttlMs: number): void {
    assert.ok(ttlMs > 0, 'a confirmed lease has a TTL');
    this.confirmedSentAtMs = Math.max(this.confirmedSentAtMs, sentAtMs);
    const validUntilMs = this.confirmedSentAtMs + Math.min(this.ackWindowMs, ttlMs) -
      this.leaseSafetyMarginMs;
    this.validUntilMs = Math.max(this.validUntilMs, validUntilMs);
  }

  private scheduleKeepAlive(delayMs: number): void {
    if (this.stateValue !== 'registered') return;
    if (this.keepAliveTimer !== null) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = setTimeout(() => {
      this.keepAliveTimer = null;
      this.keepAliveOnTimer().catch((error: unknown) => {
        this.log('lease keep-alive failed; retrying', error);
        this.dropKeepAliveStream();
        this.scheduleKeepAlive(membershipLimits.retryMs);
      });
    }, delayMs);
  }

  /**
   * One tick: give up once a whole granted TTL passed without a confirmed keep-alive; wait for an
   * answer in flight unless it is overdue (then start over on a new stream); else send the next.
   */
  private async keepAliveOnTimer(): Promise<void> {
    const nowMs = this.nowMs();
    if (nowMs >= this.confirmedSentAtMs + this.grantedTtlMs) {
      this.lose(new EtcdLeaseInvalidError(this.leaseIdValue));
      return;
    }
    let keepAlive = this.keepAlive;
    if (keepAlive !== null && keepAlive.pendingSentAtMs !== null) {
      if (nowMs - keepAlive.pendingSentAtMs < this.keepAliveIntervalMs()) {
        this.scheduleKeepAlive(membershipLimits.retryMs);
        return;
      }
      this.dropKeepAliveStream();
      keepAlive = null;
    }
    keepAlive ??= await this.openKeepAliveStream();
    if (this.stateValue !== 'registered' || this.keepAlive !== keepAlive) return;
    keepAlive.pendingSentAtMs = this.nowMs();
    keepAlive.stream.write({ ID: this.leaseIdValue });
    this.scheduleKeepAlive(this.keepAliveIntervalMs());
  }

  private async openKeepAliveStream(): Promise<KeepAliveStream> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    const keepAlive: KeepAliveStream = { stream, pendingSentAtMs: null };
    if (this.stateValue !== 'registered') {
      stream.end();
      return keepAlive;
    }
    this.keepAlive = keepAlive;
    const current = (): boolean => this.keepAlive === keepAlive;
    stream.on('data', (response: EtcdKeepAliveResponse) => {
      if (current()) this.onKeepAliveAnswer(keepAlive, response);
    });
    const onBroken = (error: unknown): void => {
      if (!current()) return;
      this.dropKeepAliveStream();
      if (this.stateValue === 'registered') this.log('lease keep-alive stream broke', error);
      this.scheduleKeepAlive(membershipLimits.retryMs);
    };
    stream.on('error', onBroken);
    stream.on('end', () => onBroken(new Error('keep-alive stream ended')));
    return keepAlive;
  }

  private onKeepAliveAnswer(keepAlive: KeepAliveStream, response: EtcdKeepAliveResponse):
    void {
    const sentAtMs = keepAlive.pendingSentAtMs;
    keepAlive.pendingSentAtMs = null;
    if (sentAtMs === null) return; // an answer to a keep-alive we stopped waiting for
    const ttlMs = Number(response.TTL) * 1_000;
    if (!(ttlMs > 0)) {
      this.lose(new EtcdLeaseInvalidError(this.leaseIdValue)); // expired or revoked in etcd
      return;
    }
    this.confirm(sentAtMs, ttlMs);
  }

  private dropKeepAliveStream(): void {
    const keepAlive = this.keepAlive;
    this.keepAlive = null;
    if (keepAlive === null) return;
    keepAlive.stream.end(); // its listeners check `current()`: late answers and errors are moot
  }

  // The end of a session

  private lose(reason: Error): void {
    if (this.stateValue !== 'registered') return;
    this.stateValue = 'lost';
    this.validUntilMs = -Infinity;
    this.stopBackground();
    // etcd may still hold the lease (our keep-alives were lost, not its): revoke it, so that the
    // controller moves our partitions now rather than a TTL from now.
    void this.revokeLease();
    this.emit('lost', reason);
  }

  private stopBackground(): void {
    if (this.keepAliveTimer !== null) clearTimeout(this.keepAliveTimer);
    this.keepAliveTimer = null;
    this.dropKeepAliveStream();
    const keyWatch = this.keyWatch;
    this.keyWatch = null;
    if (keyWatch !== null) void keyWatch.close();
  }

  /** Best effort: a lease etcd no longer knows, or an unreachable etcd, are both fine here. */
  private async revokeLease(): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: this.leaseIdValue },
        { deadline: Date.now() + membershipLimits.revokeTimeoutMs });
    } catch (error) {
      if (!(error instanceof EtcdLeaseInvalidError)) this.log('revoking the lease failed', error);
    }
  }
}

/** The live brokers, sorted by node id, to `onChange` after the first read and every change. */
export async function watchBrokers(client: EtcdClient, keys: EtcdKeys,
  onChange: (brokers: BrokerRegistration[]) => void,
  log: (message: string, error: unknown) => void = warn): Promise<KeySetWatch> {
  return KeySetWatch.open(client, { key: keys.brokersPrefix() },
    (entries) => onChange(brokersOf(entries, keys, log)), log, membershipLimits.watchRetryMsMax);
}

/**
 * Registrations in a brokers/ watch, sorted by node id. A value this code did not write is
 * reported and skipped rather than thrown: one bad key must not hide every live broker.
 */
export function brokersOf(entries: ReadonlyMap<string, EtcdKeyValue>, keys: EtcdKeys,
  log: (message: string, error: unknown) => void = warn): BrokerRegistration[] {
  const brokers: BrokerRegistration[] = [];
  for (const [key, kv] of entries) {
    try {
      const registration = decodeRegistration(kv.value);
      assert.equal(registration.nodeId, keys.nodeIdOfBrokerKey(key), 'registered under its id');
      brokers.push(registration);
    } catch (error) {
      log(`skipping the broker registration at ${key}`, error);
    }
  }
  return brokers.sort((a, b) => a.nodeId - b.nodeId);
}
