/**
 * Fast detection of a dead peer: every broker holds one idle TCP connection to each other live
 * broker's port. A process that dies (SIGKILL, crash) has its sockets closed by its kernel at once;
 * when such a connection closes and connecting again is REFUSED (the host answers, nothing
 * listens), the peer is taken for dead and its lease is revoked, rather than waiting up to a lease
 * TTL for etcd to expire it. A whole host that vanishes refuses nothing (connects time out): that
 * case still waits for the lease.
 *
 * Safe against a false positive (a live broker whose port refused, a peer's mistake): with a
 * shared WAL, the new leader of each of its partitions fences that WAL for the revoked lease
 * before replaying it, and the revoked broker acknowledges nothing appended under a fenced lease
 * (storage/wal/fence.ts, leased-view.ts). In object mode the revoked broker acknowledges nothing
 * once `ackWindowMs` has passed since its last confirmed keep-alive, which was sent before the
 * revoke (membership.ts), and the new leader opens only `ackWindowMs` after it saw the
 * registration go (leadership.ts). Either way, whatever the revoked broker acknowledged is
 * stored before the new leader serves. Before revoking, the prober writes `revoked/<nodeId>`
 * (under a short lease of its own): that record is how a new leader knows to fence (or wait),
 * while a registration that simply expired needs neither (its broker's validity ended before
 * etcd expired it).
 * A live broker that was revoked loses its lease, holds
 * its writes and rejoins (cluster-mode.ts), as after an etcd outage.
 *
 * Only registrations that publish an acknowledgement window are probed (brokers from before there
 * was one acknowledge for a whole lease). At most `peerProbeLimits.peersMax` peers are probed.
 */
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { EtcdLeaseInvalidError, type EtcdClient } from '../etcd/client.js';
import type { EtcdKeys } from '../etcd/keys.js';
import type { KeySetWatch } from '../etcd/watch.js';
import { type BrokerRegistration, decodeRegistration, watchBrokers } from './membership.js';
import { encodeRevokedRecord } from './revoked-brokers.js';
import type { InterBrokerSecurity } from './broker-request.js';
import { endpointOn } from './cluster-view.js';
import { peerProbeLimits } from '../limits.js';

export interface PeerProbeOptions {
  client: EtcdClient;
  keys: EtcdKeys;
  /** This broker: not probed. */
  nodeId: number;
  /** The inter-broker listener: its port is probed, with a TLS handshake when it uses TLS (a
   *  bare TCP connection to a TLS port would fail its handshake, an authentication failure in
   *  the peer's audit, every time the peer's handshake timeout closed it). Default: the first
   *  listener, plain TCP. */
  peers?: Pick<InterBrokerSecurity, 'listenerName' | 'tls'>;
  log: (message: string, error: unknown) => void;
  info: (fields: Record<string, unknown>, message: string) => void;
}

interface Probe {
  registration: BrokerRegistration;
  socket: Socket | null;
  connected: boolean;
  timer: NodeJS.Timeout | null;
  /** When a close was last checked at once: at most once per reconnectMs (a peer that accepts
   *  and closes at once must not make a busy loop). */
  quickCheckAtMs: number;
}

const incarnation = (r: BrokerRegistration) => `${r.nodeId}@${r.startedAtMs}`;

export class PeerProbe {
  private readonly probes = new Map<string, Probe>();
  private watch: KeySetWatch | null = null;
  private closed = false;

  private constructor(private readonly options: PeerProbeOptions) {}

  static async start(options: PeerProbeOptions): Promise<PeerProbe> {
    const probe = new PeerProbe(options);
    probe.watch = await watchBrokers(options.client, options.keys, (brokers) => probe.onBrokers(brokers),
      options.log);
    return probe;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const key of [...this.probes.keys()]) this.drop(key);
    await this.watch?.close();
  }

  /** Probes each live peer incarnation; drops probes of registrations that went. */
  private onBrokers(brokers: BrokerRegistration[]): void {
    if (this.closed) return;
    const wanted = new Map(brokers
      .filter((b) => b.nodeId !== this.options.nodeId && b.ackWindowMs !== undefined)
      .slice(0, peerProbeLimits.peersMax)
      .map((b) => [incarnation(b), b]));
    for (const key of [...this.probes.keys()]) if (!wanted.has(key)) this.drop(key);
    for (const [key, registration] of wanted) {
      if (this.probes.has(key)) continue;
      const probe: Probe = { registration, socket: null, connected: false, timer: null, quickCheckAtMs: -Infinity };
      this.probes.set(key, probe);
      this.connect(key, probe);
    }
  }

  private drop(key: string): void {
    const probe = this.probes.get(key);
    if (probe === undefined) return;
    this.probes.delete(key);
    if (probe.timer !== null) clearTimeout(probe.timer);
    probe.socket?.destroy();
  }

  /**
   * Connects; once connected, a close is followed at once by another attempt, and a refusal of
   * THAT attempt (after having been connected) is what counts as the peer's death.
   */
  private connect(key: string, probe: Probe): void {
    if (this.closed || this.probes.get(key) !== probe) return;
    const wasConnected = probe.connected;
    const socket = new Socket();
    probe.socket = socket;
    let refused = false;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      refused = err.code === 'ECONNREFUSED';
    });
    socket.setTimeout(peerProbeLimits.connectTimeoutMs, () => socket.destroy(new Error('connect timed out')));
    const tls = this.tlsOptions();
    socket.once('connect', () => {
      socket.setTimeout(0);
      probe.connected = true;
      // Over TLS the handshake runs on this socket; its failure closes it like any close.
      if (tls !== null) tlsConnect({ ...tls, socket }).on('error', () => socket.destroy());
    });
    if (tls === null) socket.on('data', () => {}); // the peer never sends unasked
    socket.once('close', () => {
      if (this.probes.get(key) !== probe || probe.socket !== socket) return;
      probe.socket = null;
      if (refused && wasConnected) {
        // Its registration goes with the lease, and this probe with it; if not (the revoke
        // failed, or found a newer incarnation), probing goes on as before it was connected.
        probe.connected = false;
        void this.revoke(probe.registration);
      }
      // Closed after connecting (the peer's idle timeout, or a crash): check at once. Otherwise
      // (never connected, refused, or not refused) try again later.
      const nowMs = performance.now();
      const quick = probe.connected && !refused && nowMs - probe.quickCheckAtMs >= peerProbeLimits.reconnectMs;
      if (quick) probe.quickCheckAtMs = nowMs;
      probe.timer = setTimeout(() => {
        probe.timer = null;
        this.connect(key, probe);
      }, quick ? 0 : peerProbeLimits.reconnectMs);
    });
    const { host, port } = endpointOn(probe.registration,
      this.options.peers?.listenerName ?? '');
    socket.connect(port, host);
  }

  /** TLS options of the next probe connection, or null for plain TCP (or unreadable files:
   *  then the probe still tells a refusing peer from a live one). */
  private tlsOptions(): ConnectionOptions | null {
    try {
      return this.options.peers?.tls?.() ?? null;
    } catch {
      return null;
    }
  }

  private async revoke(registration: BrokerRegistration): Promise<void> {
    try {
      if (await revokePeerLease(this.options.client, this.options.keys, registration)) {
        this.options.info({ node: registration.nodeId, ackWindowMs: registration.ackWindowMs },
          'peer refuses connections; its lease revoked');
      }
    } catch (error) {
      this.options.log(`revoking the lease of unreachable broker ${registration.nodeId} failed`, error);
    }
  }
}

/**
 * Revokes the lease of `registration` if it is still the registered incarnation: first the
 * `revoked/` record (so no controller reassigns before the window), then the lease itself.
 * Returns whether this call revoked it (false: gone already, or a newer incarnation registered).
 */
export async function revokePeerLease(client: EtcdClient, keys: EtcdKeys, registration: BrokerRegistration):
  Promise<boolean> {
  const ackWindowMs = registration.ackWindowMs;
  assert.ok(ackWindowMs !== undefined, 'only a broker with an acknowledgement window is revoked');
  const [kv] = (await client.kv.range({ key: Buffer.from(keys.broker(registration.nodeId)) })).kvs;
  if (kv === undefined || decodeRegistration(kv.value).startedAtMs !== registration.startedAtMs) return false;
  const lease = await client.leaseClient.leaseGrant({ TTL: peerProbeLimits.revokedRecordTtlS });
  await client.kv.put({ key: Buffer.from(keys.revoked(registration.nodeId)),
    value: Buffer.from(encodeRevokedRecord({ leaseId: kv.lease, ackWindowMs })), lease: lease.ID });
  try {
    await client.leaseClient.leaseRevoke({ ID: kv.lease });
  } catch (error) {
    if (error instanceof EtcdLeaseInvalidError) return false; // expired, or another prober was first
    throw error;
  }
  return true;
}
