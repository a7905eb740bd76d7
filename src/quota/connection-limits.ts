/**
 * Connection limits, as Kafka's ConnectionQuotas (SocketServer.scala) counts them:
 *  - `max.connections.per.ip` (with `max.connections.per.ip.overrides`): a connection from an
 *    address that already has its maximum is closed at once (Kafka's TooManyConnectionsException);
 *  - `max.connections`: likewise for all connections together. Kafka's acceptor instead stops
 *    accepting until one closes, leaving the rest in the listen backlog; Node cannot stop
 *    accepting without closing its listening socket, so the extra connection is closed;
 *  - `max.connection.creation.rate`: connections accepted faster wait before they are served, as
 *    Kafka's acceptor blocks, each at most one quota sample (Kafka's maxThrottleTimeMs).
 */
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { throttleTimeMs, WindowedRate, type RateWindow } from './windowed-rate.js';

export interface ConnectionLimitSettings {
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** By normalized address (normalizeAddress). */
  maxConnectionsPerIpOverrides: ReadonlyMap<string, number>;
  maxConnectionCreationRate: number;
  window: RateWindow;
}

export type Refusal = { setting: 'max.connections' | 'max.connections.per.ip'; max: number };

/** Kafka's "no limit" (Int.MaxValue): a limit at it is not enforced. */
const unlimited = 2 ** 31 - 1;

/** IPv4 clients of a dual-stack socket show as ::ffff:a.b.c.d; they are a.b.c.d. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** Parses "address:count,…" (split at the last ':', so IPv6 addresses work). */
export function parseConnectionOverrides(items: readonly string[]):
  { overrides: Map<string, number>; error: string | null } {
  const overrides = new Map<string, number>();
  for (const item of items) {
    const colon = item.lastIndexOf(':');
    const [address, count] = [item.slice(0, colon).trim(), item.slice(colon + 1).trim()];
    if (colon < 0 || isIP(address) === 0 || !/^\d+$/.test(count) || Number(count) > unlimited) {
      return { overrides, error: `"${item}" is not address:count with an IP address ` +
        'and a count up to 2147483647' };
    }
    overrides.set(normalizeAddress(address), Number(count));
  }
  return { overrides, error: null };
}

export class ConnectionLimits {
  private total = 0;
  private readonly byAddress = new Map<string, number>();
  private readonly creations: WindowedRate | null;

  constructor(private readonly settings: ConnectionLimitSettings) {
    assert.ok(settings.maxConnections >= 1 && settings.maxConnectionsPerIp >= 0
      && settings.maxConnectionCreationRate >= 1, 'connection limits');
    this.creations = settings.maxConnectionCreationRate >= unlimited ? null
      : new WindowedRate(settings.window);
  }

  get rateLimited(): boolean {
    return this.creations !== null;
  }

  get openConnections(): number {
    return this.total;
  }

  /** Records one new connection against the creation rate: how long it waits to be served. */
  creationDelayMs(nowMs: number): number {
    if (this.creations === null) return 0;
    this.creations.record(1, nowMs);
    return Math.min(throttleTimeMs(this.creations, this.settings.maxConnectionCreationRate, nowMs),
      this.settings.window.sampleMs);
  }

  /** Takes a recorded creation back: the connection was refused by its address's own rate, as
   *  Kafka un-records it from the broker-wide rate. */
  takeBackCreation(nowMs: number): void {
    this.creations?.record(-1, nowMs);
  }

  /** Counts a connection from `address` in, or says which limit refuses it (counting nothing). */
  admit(address: string): Refusal | null {
    const perIpMax = this.settings.maxConnectionsPerIpOverrides.get(address)
      ?? this.settings.maxConnectionsPerIp;
    const fromAddress = this.byAddress.get(address) ?? 0;
    if (fromAddress >= perIpMax) return { setting: 'max.connections.per.ip', max: perIpMax };
    if (this.total >= this.settings.maxConnections) {
      return { setting: 'max.connections', max: this.settings.maxConnections };
    }
    this.byAddress.set(address, fromAddress + 1);
    this.total++;
    return null;
  }

  /** An admitted connection closed. */
  release(address: string): void {
    const fromAddress = this.byAddress.get(address);
    assert.ok(fromAddress !== undefined && fromAddress > 0 && this.total > 0,
      `release of a connection from ${address} that was admitted`);
    if (fromAddress === 1) this.byAddress.delete(address);
    else this.byAddress.set(address, fromAddress - 1);
    this.total--;
  }
}
