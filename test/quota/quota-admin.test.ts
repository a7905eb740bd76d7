/**
 * AlterClientQuotas and DescribeClientQuotas rules, with Kafka's messages
 * (ClientQuotaControlManager, ClientQuotasImage).
 */
import { expect, it } from 'vitest';
import { parseQuotaEntity, parseQuotaFilter, parseQuotaOps } from '../../src/quota/quota-admin.js';

const USER = { user: 'alice' };
const part = (entityType: string, entityName: string | null) => ({ entityType, entityName });

it('parses entities and refuses what Kafka refuses', () => {
  expect(parseQuotaEntity([part('client-id', null), part('user', 'alice')]))
    .toEqual({ user: 'alice', clientId: null });
  expect(parseQuotaEntity([])).toBe('Invalid empty client quota entity');
  expect(parseQuotaEntity([part('user', 'a'), part('user', 'b')]))
    .toBe('Invalid client quota entity, duplicate entity entry user');
  expect(parseQuotaEntity([part('group', 'g')])).toBe('Unhandled client quota entity type: group');
  expect(parseQuotaEntity([part('user', '')])).toBe('Empty user not supported');
  expect(parseQuotaEntity([part('ip', '1.2.3.4')])).toEqual({ ip: '1.2.3.4' });
  expect(parseQuotaEntity([part('ip', '::ffff:1.2.3.4')])).toEqual({ ip: '1.2.3.4' });
  expect(parseQuotaEntity([part('ip', null)])).toEqual({ ip: null });
  expect(parseQuotaEntity([part('ip', 'not-an-address')]))
    .toBe('not-an-address is not a valid IP or resolvable host.');
  expect(parseQuotaEntity([part('ip', '1.2.3.4'), part('user', 'alice')]))
    .toBe('Invalid quota entity combination, IP entity shouldnot be combined with User or ' +
      'ClientId');
});

it('checks values by their Kafka type; the last op on a key wins', () => {
  const op = (key: string, value: number, remove = false) => ({ key, value, remove });
  expect(parseQuotaOps(USER, [op('producer_byte_rate', 1024), op('request_percentage', 12.5),
    op('consumer_byte_rate', 0, true), op('request_percentage', 50)]))
    .toEqual({ set: { producer_byte_rate: 1024, request_percentage: 50 },
      remove: ['consumer_byte_rate'] });
  expect(parseQuotaOps(USER, [op('producer_byte_rate', 1.5)]))
    .toBe('producer_byte_rate cannot be a fractional value.');
  expect(parseQuotaOps(USER, [op('consumer_byte_rate', 0)]))
    .toBe('Quota consumer_byte_rate must be greater than 0');
  expect(parseQuotaOps(USER, [op('nope', 1)])).toBe('Invalid configuration key nope');
  expect(parseQuotaOps(USER, [op('controller_mutation_rate', 1)])).toMatch(/not supported/);
  // ip entities take connection_creation_rate (an INT) and nothing else, and only they do.
  expect(parseQuotaOps(USER, [op('connection_creation_rate', 5)]))
    .toBe('Invalid configuration key connection_creation_rate');
  expect(parseQuotaOps({ ip: null }, [op('connection_creation_rate', 5)]))
    .toEqual({ set: { connection_creation_rate: 5 }, remove: [] });
  expect(parseQuotaOps({ ip: '10.0.0.1' }, [op('producer_byte_rate', 5)]))
    .toBe('Invalid configuration key producer_byte_rate');
  expect(parseQuotaOps({ ip: '10.0.0.1' }, [op('connection_creation_rate', 2.5)]))
    .toBe('connection_creation_rate cannot be a fractional value.');
  expect(parseQuotaOps({ ip: '10.0.0.1' }, [op('connection_creation_rate', 2 ** 31)]))
    .toBe('Proposed value for connection_creation_rate is too large for an INT.');
});

it('matches exact names, defaults and any specified name, strictly or not', () => {
  const entities = [{ user: 'alice' }, { user: null }, { user: 'alice', clientId: 'app' },
    { clientId: null }];
  const select = (components: { entityType: string; matchType: number; match: string | null }[],
    strict: boolean) => {
    const filter = parseQuotaFilter(components, strict);
    if (Array.isArray(filter)) throw new Error(filter[1]);
    return entities.filter(filter);
  };
  expect(select([{ entityType: 'user', matchType: 0, match: 'alice' }], false))
    .toEqual([{ user: 'alice' }, { user: 'alice', clientId: 'app' }]);
  expect(select([{ entityType: 'user', matchType: 0, match: 'alice' }], true))
    .toEqual([{ user: 'alice' }]);
  expect(select([{ entityType: 'user', matchType: 1, match: null }], true))
    .toEqual([{ user: null }]);
  expect(select([{ entityType: 'client-id', matchType: 2, match: null }], false))
    .toEqual([{ user: 'alice', clientId: 'app' }, { clientId: null }]);
  expect(select([], false)).toEqual(entities);
  expect(parseQuotaFilter([{ entityType: 'topic', matchType: 0, match: 'x' }], false))
    .toEqual(['UNSUPPORTED_VERSION', 'Unsupported entity type topic']);
  expect(parseQuotaFilter([{ entityType: 'user', matchType: 1, match: 'x' }], false)).toEqual(
    ['INVALID_REQUEST',
      'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.']);
  expect(parseQuotaFilter([{ entityType: 'ip', matchType: 2, match: null },
    { entityType: 'user', matchType: 2, match: null }], false)).toEqual(['INVALID_REQUEST',
    expect.stringMatching(/IP filter component should not be used with user/)]);
});
