/**
 * ScramCredentials on etcd: `scram/<user>/<mechanism>` keys holding the salt, iteration count and
 * keys as JSON. Read from etcd at every login (no cache), so a credential altered through any
 * broker is what the next login on every broker checks.
 */
import { prefixEnd } from '../../etcd/keys.js';
import { deleteOp, getOp, keyOf, putOp, rangePages, rangesOf } from '../../etcd/txn.js';
import type { ScramCredential, ScramMechanism } from '../records.js';
import type { ScramCredentials } from '../stores.js';
import type { EtcdEngine } from './engine.js';

function encode(c: ScramCredential): string {
  return JSON.stringify({ salt: c.salt.toString('base64'), iterations: c.iterations,
    storedKey: c.storedKey.toString('base64'), serverKey: c.serverKey.toString('base64') });
}

function decode(user: string, mechanism: ScramMechanism, value: Buffer): ScramCredential {
  const v = JSON.parse(value.toString('utf8')) as
    { salt: string; iterations: number; storedKey: string; serverKey: string };
  return { user, mechanism, salt: Buffer.from(v.salt, 'base64'), iterations: v.iterations,
    storedKey: Buffer.from(v.storedKey, 'base64'), serverKey: Buffer.from(v.serverKey, 'base64') };
}

export class EtcdScramCredentials implements ScramCredentials {
  constructor(private readonly e: EtcdEngine) {}

  async get(user: string, mechanism: ScramMechanism): Promise<ScramCredential | null> {
    const response = await this.e.txn([], [getOp(this.e.keys.scramCredential(user, mechanism))],
      []);
    const kv = rangesOf(response)[0]?.kvs[0];
    return kv === undefined ? null : decode(user, mechanism, kv.value);
  }

  async list(users: readonly string[] | null): Promise<ScramCredential[]> {
    const prefixes = users === null ? [this.e.keys.scramCredentialsPrefix()]
      : [...new Set(users)].sort().map((u) => this.e.keys.scramCredential(u, ''));
    const out: ScramCredential[] = [];
    for (const prefix of prefixes) {
      for await (const page of rangePages(this.e.client, Buffer.from(prefix), prefixEnd(prefix))) {
        for (const kv of page) {
          const rest = keyOf(kv).slice(this.e.keys.scramCredentialsPrefix().length);
          const slash = rest.lastIndexOf('/');
          out.push(decode(decodeURIComponent(rest.slice(0, slash)),
            rest.slice(slash + 1) as ScramMechanism, kv.value));
        }
      }
    }
    // Percent-encoding changes byte order: sort as the SQLite engine's ORDER BY does.
    return out.sort((a, b) => a.user < b.user ? -1 : a.user > b.user ? 1
      : a.mechanism < b.mechanism ? -1 : a.mechanism > b.mechanism ? 1 : 0);
  }

  async alter(upserts: readonly ScramCredential[],
    deletions: readonly { user: string; mechanism: ScramMechanism }[]): Promise<void> {
    const { keys } = this.e;
    await this.e.writeChunked([
      ...deletions.map((d) => deleteOp(keys.scramCredential(d.user, d.mechanism))),
      ...upserts.map((c) => putOp(keys.scramCredential(c.user, c.mechanism), encode(c))),
    ]);
  }
}
