/**
 * The ClientQuotaStore contract: values per quota entity, altered one entity at a time, entities
 * without values gone, the table handed to watchers after every change, kept across a reopen.
 */
import { expect, it } from 'vitest';
import type { ClientQuotaRecord } from '../../../src/metadata/client-quotas.js';
import type { Current, Reopen } from './fixtures.js';

export function clientQuotasContract(current: Current, reopen: Reopen): void {
  it('sets, overwrites and removes values per entity; defaults and odd names stay distinct',
    async () => {
    const { c } = current();
    expect(await c.quotas.list()).toEqual([]);
    await c.quotas.alter({ user: 'alice' }, { producer_byte_rate: 1024 }, []);
    await c.quotas.alter({ user: null }, { consumer_byte_rate: 2048 }, []);
    await c.quotas.alter({ user: '<default>' }, { request_percentage: 12.5 }, []);
    await c.quotas.alter({ clientId: 'app', user: 'alice' }, { producer_byte_rate: 10 }, []);
    await c.quotas.alter({ clientId: null }, { producer_byte_rate: 7 }, []);
    await c.quotas.alter({ user: 'alice' }, { producer_byte_rate: 4096, consumer_byte_rate: 1 },
      []);
    expect(await c.quotas.list()).toEqual([
      { entity: { clientId: null }, values: { producer_byte_rate: 7 } },
      { entity: { user: '<default>' }, values: { request_percentage: 12.5 } },
      { entity: { user: null }, values: { consumer_byte_rate: 2048 } },
      { entity: { user: 'alice' }, values: { producer_byte_rate: 4096, consumer_byte_rate: 1 } },
      { entity: { user: 'alice', clientId: 'app' }, values: { producer_byte_rate: 10 } },
    ]);
    await c.quotas.alter({ user: 'alice' }, { request_percentage: 50 }, ['producer_byte_rate']);
    await c.quotas.alter({ clientId: null }, {}, ['producer_byte_rate', 'never_set']);
    await c.quotas.alter({ user: 'nobody' }, {}, ['producer_byte_rate']);
    const after = await c.quotas.list();
    expect(after.map((r) => r.entity)).toEqual([{ user: '<default>' }, { user: null },
      { user: 'alice' }, { user: 'alice', clientId: 'app' }]);
    expect(after[2]!.values).toEqual({ consumer_byte_rate: 1, request_percentage: 50 });
  });

  ipEntities(current);

  it('refuses a value that is not positive or a key both set and removed, changing nothing',
    async () => {
    const { c } = current();
    await c.quotas.alter({ user: 'a/b' }, { producer_byte_rate: 5 }, []);
    await expect(c.quotas.alter({ user: 'a/b' }, { producer_byte_rate: 0 }, [])).rejects.toThrow();
    await expect(c.quotas.alter({ user: 'a/b' }, { consumer_byte_rate: 1 },
      ['consumer_byte_rate'])).rejects.toThrow();
    expect(await c.quotas.list()).toEqual([
      { entity: { user: 'a/b' }, values: { producer_byte_rate: 5 } }]);
  });

  it('hands watchers the whole table first and after each change, until stopped', async () => {
    const { c } = current();
    await c.quotas.alter({ clientId: 'x' }, { producer_byte_rate: 1 }, []);
    const seen: ClientQuotaRecord[][] = [];
    const stop = await c.quotas.watch((records) => seen.push(records));
    expect(seen).toEqual([[{ entity: { clientId: 'x' }, values: { producer_byte_rate: 1 } }]]);
    await c.quotas.alter({ clientId: 'x' }, {}, ['producer_byte_rate']);
    await c.quotas.alter({ user: 'u', clientId: null }, { consumer_byte_rate: 3 }, []);
    const last = [{ entity: { user: 'u', clientId: null }, values: { consumer_byte_rate: 3 } }];
    await expect.poll(() => seen.at(-1)).toEqual(last);
    expect(seen).toContainEqual([]);
    await stop();
    const count = seen.length;
    await c.quotas.alter({ user: 'v' }, { consumer_byte_rate: 3 }, []);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.length).toBe(count);
  });

  it('keeps quotas across a reopen', async (ctx) => {
    const { c } = current();
    await c.quotas.alter({ user: 'durable', clientId: 'c' }, { producer_byte_rate: 99 }, []);
    const reopened = await reopen(ctx);
    expect(await reopened.quotas.list()).toEqual([
      { entity: { user: 'durable', clientId: 'c' }, values: { producer_byte_rate: 99 } }]);
  });
}

/** KIP-612's ip entities, stored beside users and client ids. */
function ipEntities(current: Current): void {
  it('keeps ip entities (KIP-612), named and default, apart from users and client ids',
    async () => {
    const { c } = current();
    await c.quotas.alter({ ip: '10.0.0.5' }, { connection_creation_rate: 3 }, []);
    await c.quotas.alter({ ip: '::1' }, { connection_creation_rate: 4 }, []);
    await c.quotas.alter({ ip: null }, { connection_creation_rate: 5 }, []);
    await c.quotas.alter({ user: '10.0.0.5' }, { producer_byte_rate: 6 }, []);
    expect(await c.quotas.list()).toEqual([
      { entity: { ip: '::1' }, values: { connection_creation_rate: 4 } },
      { entity: { ip: '10.0.0.5' }, values: { connection_creation_rate: 3 } },
      { entity: { ip: null }, values: { connection_creation_rate: 5 } },
      { entity: { user: '10.0.0.5' }, values: { producer_byte_rate: 6 } },
    ]);
    await c.quotas.alter({ ip: '10.0.0.5' }, {}, ['connection_creation_rate']);
    expect((await c.quotas.list()).map((r) => r.entity)).toEqual([{ ip: '::1' }, { ip: null },
      { user: '10.0.0.5' }]);
  });
}
