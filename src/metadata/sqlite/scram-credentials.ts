/** ScramCredentials on SQLite: the `scram_credentials` table, keyed by user and mechanism. */
import type Database from 'better-sqlite3';
import type { ScramCredential, ScramMechanism } from '../records.js';
import type { ScramCredentials } from '../stores.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  user_name: string; mechanism: ScramMechanism; salt: Buffer; iterations: number;
  stored_key: Buffer; server_key: Buffer;
}

function credentialOfRow(r: Row): ScramCredential {
  return { user: r.user_name, mechanism: r.mechanism, salt: r.salt, iterations: r.iterations,
    storedKey: r.stored_key, serverKey: r.server_key };
}

export class SqliteScramCredentials implements ScramCredentials {
  private readonly selectOne: Database.Statement<[string, string], Row>;
  private readonly selectUser: Database.Statement<[string], Row>;
  private readonly selectAll: Database.Statement<[], Row>;
  private readonly upsert: Database.Statement<[string, string, Buffer, number, Buffer, Buffer]>;
  private readonly remove: Database.Statement<[string, string]>;

  constructor(private readonly d: SqliteDatabase) {
    const { db } = d;
    this.selectOne =
      db.prepare('SELECT * FROM scram_credentials WHERE user_name = ? AND mechanism = ?');
    this.selectUser =
      db.prepare('SELECT * FROM scram_credentials WHERE user_name = ? ORDER BY mechanism');
    this.selectAll = db.prepare('SELECT * FROM scram_credentials ORDER BY user_name, mechanism');
    this.upsert = db.prepare(`INSERT INTO scram_credentials
      (user_name, mechanism, salt, iterations, stored_key, server_key) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (user_name, mechanism) DO UPDATE SET salt = excluded.salt,
      iterations = excluded.iterations, stored_key = excluded.stored_key,
      server_key = excluded.server_key`);
    this.remove = db.prepare('DELETE FROM scram_credentials WHERE user_name = ? AND mechanism = ?');
  }

  async get(user: string, mechanism: ScramMechanism): Promise<ScramCredential | null> {
    const row = this.selectOne.get(user, mechanism);
    return row === undefined ? null : credentialOfRow(row);
  }

  async list(users: readonly string[] | null): Promise<ScramCredential[]> {
    if (users === null) return this.selectAll.all().map(credentialOfRow);
    return [...new Set(users)].sort().flatMap((u) => this.selectUser.all(u).map(credentialOfRow));
  }

  async alter(upserts: readonly ScramCredential[],
    deletions: readonly { user: string; mechanism: ScramMechanism }[]): Promise<void> {
    this.d.transaction(() => {
      for (const del of deletions) this.remove.run(del.user, del.mechanism);
      for (const c of upserts) {
        this.upsert.run(c.user, c.mechanism, c.salt, c.iterations, c.storedKey, c.serverKey);
      }
    });
  }
}
