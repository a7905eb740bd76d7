/**
 * The ScramCredentials contract: credentials per user and mechanism, upserted, listed, deleted,
 * and still there after a reopen.
 */
import { expect, it, type TestContext } from 'vitest';
import type { ScramCredential, ScramMechanism } from '../../../src/metadata/records.js';
import type { Current, Reopen } from './fixtures.js';

function credential(user: string, mechanism: ScramMechanism, seed: number): ScramCredential {
  const bytes = mechanism === 'SCRAM-SHA-256' ? 32 : 64;
  return { user, mechanism, salt: Buffer.alloc(16, seed), iterations: 4096 + seed,
    storedKey: Buffer.alloc(bytes, seed + 1), serverKey: Buffer.alloc(bytes, seed + 2) };
}

export function scramCredentialsContract(current: Current, reopen: Reopen): void {
  it('upserts, gets and lists credentials by user and mechanism', async () => {
    const { c } = current();
    const alice512 = credential('alice', 'SCRAM-SHA-512', 1);
    const alice256 = credential('alice', 'SCRAM-SHA-256', 2);
    const slashy = credential('team/bob=x,y', 'SCRAM-SHA-512', 3);
    await c.scramCredentials.alter([alice512, slashy, alice256], []);
    expect(await c.scramCredentials.get('alice', 'SCRAM-SHA-512')).toEqual(alice512);
    expect(await c.scramCredentials.get('team/bob=x,y', 'SCRAM-SHA-512')).toEqual(slashy);
    expect(await c.scramCredentials.get('team/bob=x,y', 'SCRAM-SHA-256')).toBeNull();
    expect(await c.scramCredentials.get('nobody', 'SCRAM-SHA-512')).toBeNull();
    expect(await c.scramCredentials.list(null)).toEqual([alice256, alice512, slashy]);
    expect(await c.scramCredentials.list(['team/bob=x,y', 'nobody', 'alice', 'alice']))
      .toEqual([alice256, alice512, slashy]);
    const replaced = credential('alice', 'SCRAM-SHA-512', 9);
    await c.scramCredentials.alter([replaced], []);
    expect(await c.scramCredentials.get('alice', 'SCRAM-SHA-512')).toEqual(replaced);
  });

  it('deletes one mechanism of a user, and a missing one without error', async () => {
    const { c } = current();
    await c.scramCredentials.alter([credential('alice', 'SCRAM-SHA-512', 1),
      credential('alice', 'SCRAM-SHA-256', 2)], []);
    await c.scramCredentials.alter([], [{ user: 'alice', mechanism: 'SCRAM-SHA-512' },
      { user: 'ghost', mechanism: 'SCRAM-SHA-256' }]);
    expect((await c.scramCredentials.list(['alice'])).map((x) =>
      x.mechanism)).toEqual(['SCRAM-SHA-256']);
  });

  it('keeps credentials across a reopen', async (ctx: TestContext) => {
    const { c } = current();
    const bob = credential('bob', 'SCRAM-SHA-256', 4);
    await c.scramCredentials.alter([bob], []);
    const again = await reopen(ctx);
    expect(await again.scramCredentials.get('bob', 'SCRAM-SHA-256')).toEqual(bob);
  });
}
