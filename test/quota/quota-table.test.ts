/**
 * Kafka's quota precedence (KIP-55) and who shares a rate, level by level, and the sensors' limits.
 */
import { expect, it } from 'vitest';
import type { ClientQuotaRecord, QuotaEntity } from '../../src/metadata/client-quotas.js';
import { ClientQuotaManager } from '../../src/quota/client-quota-manager.js';
import { QuotaTable } from '../../src/quota/quota-table.js';

const key = 'producer_byte_rate';
const rec = (entity: QuotaEntity, value: number): ClientQuotaRecord =>
  ({ entity, values: { [key]: value } });

/** The eight levels, most specific first, each with a distinct value. */
const levels: ClientQuotaRecord[] = [
  rec({ user: 'alice', clientId: 'app' }, 1), rec({ user: 'alice', clientId: null }, 2),
  rec({ user: 'alice' }, 3), rec({ user: null, clientId: 'app' }, 4),
  rec({ user: null, clientId: null }, 5), rec({ user: null }, 6), rec({ clientId: 'app' }, 7),
  rec({ clientId: null }, 8),
];

it('applies the most specific of the eight levels, dropping them one by one', () => {
  const expectedTags = [['alice', 'app'], ['alice', 'app'], ['alice', ''], ['alice', 'app'],
    ['alice', 'app'], ['alice', ''], ['', 'app'], ['', 'app']];
  for (let level = 0; level < levels.length; level++) {
    const table = new QuotaTable(levels.slice(level));
    const tags = table.tags(key, 'alice', 'app');
    expect([tags.user, tags.clientId]).toEqual(expectedTags[level]);
    expect(table.limit(key, tags)).toBe(level + 1);
  }
  const none = new QuotaTable([]);
  expect(none.hasAny(key)).toBe(false);
  expect(none.limit(key, none.tags(key, 'alice', 'app'))).toBeNull();
});

it('looks at one quota key at a time, and other users and client ids fall to the defaults', () => {
  const table = new QuotaTable([rec({ user: 'alice' }, 3), rec({ user: null }, 6),
    { entity: { clientId: 'app' }, values: { consumer_byte_rate: 9 } }]);
  expect(table.limit(key, table.tags(key, 'bob', 'app'))).toBe(6);
  expect(table.tags(key, 'bob', 'app')).toEqual({ user: 'bob', clientId: '' });
  expect(table.limit('consumer_byte_rate', table.tags('consumer_byte_rate', 'alice', 'app')))
    .toBe(9);
  expect(table.limit('consumer_byte_rate', table.tags('consumer_byte_rate', 'alice', 'x')))
    .toBeNull();
});

it('shares one rate among the clients a user-level quota covers, and keeps sensors bounded', () => {
  let table = new QuotaTable([rec({ user: 'alice' }, 1000)]);
  const manager = new ClientQuotaManager(key, { samples: 11, sampleMs: 1000 }, () => table,
    { sensorsMax: 2, sensorIdleMs: 60_000 });
  expect(manager.recordAndGetThrottleTimeMs('alice', 'one', 10_000, 0)).toBe(0);
  // Another client id of alice's shares her rate: 15,000 over 10 s is 50% over.
  expect(manager.recordAndGetThrottleTimeMs('alice', 'two', 5_000, 0)).toBe(5000);
  expect(manager.recordAndGetThrottleTimeMs('bob', 'one', 1e9, 0)).toBe(0); // no quota for bob
  expect(manager.sensorCount).toBe(2);
  manager.recordAndGetThrottleTimeMs('carol', 'x', 1, 0);
  expect(manager.sensorCount).toBe(2); // alice's, least recently used, went first
  expect(manager.recordAndGetThrottleTimeMs('alice', 'one', 1, 1)).toBe(0); // a fresh rate
  expect(manager.recordAndGetThrottleTimeMs('alice', 'one', 1, 120_000)).toBe(0);
  expect(manager.sensorCount).toBe(1); // the idle ones were dropped
  table = new QuotaTable([]);
  expect(manager.recordAndGetThrottleTimeMs('alice', 'one', 1e12, 120_001)).toBe(0);
});
