/** ScramCredentials on SQLite: the `scram_credentials` table, keyed by user and mechanism. */
import type { ScramCredential, ScramMechanism } from '../records.js';
import type { ScramCredentials } from '../stores.js';
import type { SqliteDatabase } from './database.js';
import type { ScramRow } from './statements.js';
import type { SqliteWriter } from './writer.js';

function credentialOfRow(r: ScramRow): ScramCredential {
  return { user: r.user_name, mechanism: r.mechanism, salt: r.salt, iterations: r.iterations,
    storedKey: r.stored_key, serverKey: r.server_key };
}

/** A Buffer again: a credential that crossed to the writer thread holds plain Uint8Arrays. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export const scramWrites = {
  scramAlter(d: SqliteDatabase, upserts: readonly ScramCredential[],
    deletions: readonly { user: string; mechanism: ScramMechanism }[]): void {
    for (const del of deletions) d.s.deleteScram.run(del.user, del.mechanism);
    for (const c of upserts) {
      d.s.upsertScram.run(c.user, c.mechanism, asBuffer(c.salt), c.iterations,
        asBuffer(c.storedKey), asBuffer(c.serverKey));
    }
  },
};

export class SqliteScramCredentials implements ScramCredentials {
  constructor(private readonly d: SqliteDatabase, private readonly writer: SqliteWriter) {}

  async get(user: string, mechanism: ScramMechanism): Promise<ScramCredential | null> {
    const row = this.d.s.selectScram.get(user, mechanism);
    return row === undefined ? null : credentialOfRow(row);
  }

  async list(users: readonly string[] | null): Promise<ScramCredential[]> {
    const { s } = this.d;
    if (users === null) return s.selectScramAll.all().map(credentialOfRow);
    return [...new Set(users)].sort().flatMap((u) => s.selectScramOfUser.all(u)
      .map(credentialOfRow));
  }

  async alter(upserts: readonly ScramCredential[],
    deletions: readonly { user: string; mechanism: ScramMechanism }[]): Promise<void> {
    await this.writer.run('scramAlter', upserts, deletions);
  }
}
