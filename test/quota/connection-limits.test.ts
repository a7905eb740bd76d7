/**
 * Connection counts per address (with overrides) and in all, the creation rate's wait, and the
 * per-address creation rate of ip quota entities (KIP-612).
 */
import { expect, it } from 'vitest';
import {
  ConnectionLimits, normalizeAddress, parseConnectionOverrides,
} from '../../src/quota/connection-limits.js';
import { IpConnectionRates } from '../../src/quota/ip-connection-rates.js';

const window = { samples: 11, sampleMs: 1000 };
const unlimited = 2 ** 31 - 1;

it('refuses past the per-address maximum or its override, and past the total', () => {
  const limits = new ConnectionLimits({ maxConnections: 4, maxConnectionsPerIp: 2,
    maxConnectionsPerIpOverrides: parseConnectionOverrides(['10.0.0.9:0', '::1:3']).overrides,
    maxConnectionCreationRate: unlimited, window });
  expect(limits.admit('10.0.0.1')).toBeNull();
  expect(limits.admit('10.0.0.1')).toBeNull();
  expect(limits.admit('10.0.0.1')).toEqual({ setting: 'max.connections.per.ip', max: 2 });
  expect(limits.admit('10.0.0.9')).toEqual({ setting: 'max.connections.per.ip', max: 0 });
  expect(limits.admit('::1')).toBeNull();
  expect(limits.admit('::1')).toBeNull();
  expect(limits.admit('::1')).toEqual({ setting: 'max.connections', max: 4 });
  limits.release('10.0.0.1');
  expect(limits.admit('::1')).toBeNull(); // the override: 3 from ::1
  expect(limits.openConnections).toBe(4);
  expect(() => limits.release('10.0.0.7')).toThrow();
});

it('parses overrides and says which one is wrong', () => {
  expect(parseConnectionOverrides(['127.0.0.1:5', '::ffff:10.1.1.1:7']).overrides)
    .toEqual(new Map([['127.0.0.1', 5], ['10.1.1.1', 7]]));
  expect(parseConnectionOverrides(['localhost:5']).error).toMatch(/"localhost:5" is not/);
  expect(parseConnectionOverrides(['1.2.3.4']).error).toMatch(/is not address:count/);
  expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
});

it('makes connections past the creation rate wait, at most one sample each', () => {
  const limits = new ConnectionLimits({ maxConnections: unlimited, maxConnectionsPerIp: unlimited,
    maxConnectionsPerIpOverrides: new Map(), maxConnectionCreationRate: 2, window });
  const delays = Array.from({ length: 22 }, () => limits.creationDelayMs(0));
  expect(delays.slice(0, 20)).toEqual(new Array(20).fill(0)); // 20 over the first 10 s window
  expect(delays[20]).toBe(500);
  expect(delays[21]).toBe(1000);
  expect(new ConnectionLimits({ maxConnections: 1, maxConnectionsPerIp: 1,
    maxConnectionsPerIpOverrides: new Map(), maxConnectionCreationRate: unlimited, window })
    .creationDelayMs(0)).toBe(0);
});

it('holds back connections past their address\'s connection_creation_rate, unrecorded', () => {
  const quotas = new Map<string, number>([['10.0.0.1', 2]]);
  const rates = new IpConnectionRates(window, (a) => quotas.get(a) ?? null,
    { sensorsMax: 2, sensorIdleMs: 60_000 });
  const throttles = Array.from({ length: 21 }, () => rates.throttleMs('10.0.0.1', 0));
  expect(throttles.slice(0, 20)).toEqual(new Array(20).fill(0)); // 20 over the first 10 s window
  expect(throttles[20]).toBe(500); // (21 / 10 - 2) / 2 x 10 s
  expect(rates.throttleMs('10.0.0.1', 0)).toBe(500); // the refused one was taken back out
  expect(rates.throttleMs('10.0.0.2', 0)).toBe(0); // no quota: nothing recorded
  expect(rates.sensorCount).toBe(1);
  for (const a of ['10.0.0.3', '10.0.0.4', '10.0.0.5']) quotas.set(a, 1);
  for (const a of ['10.0.0.3', '10.0.0.4', '10.0.0.5']) rates.throttleMs(a, 0);
  expect(rates.sensorCount).toBe(2); // bounded: the least recently used went
});
