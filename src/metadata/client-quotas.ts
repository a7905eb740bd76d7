/**
 * Client quotas as the metadata stores hold them, the rules both engines share: Kafka's quota
 * entity (a user, a client id, or both; or an IP address alone; each one named or the default)
 * and its canonical key.
 *
 * The key orders the user part before the client-id part and percent-encodes names, so
 * `<default>` (the default, as Kafka's ZooKeeper paths named it) can never be a real name: a user
 * literally called "<default>" is stored as `%3Cdefault%3E`. Both engines key their rows by it,
 * so one entity is one row or one etcd key, whatever order a request named its parts in.
 */
import assert from 'node:assert/strict';

/** A quota entity: `undefined` leaves a part out, `null` is that part's default. An `ip` entity
 *  (KIP-612's connection_creation_rate) names nothing else. */
export interface QuotaEntity {
  readonly user?: string | null;
  readonly clientId?: string | null;
  readonly ip?: string | null;
}

/** One entity and its quota values by Kafka key (`producer_byte_rate`, …). */
export interface ClientQuotaRecord {
  readonly entity: QuotaEntity;
  readonly values: Readonly<Record<string, number>>;
}

const defaultName = '<default>';

function encodePart(type: string, name: string | null): string {
  return `${type}=${name === null ? defaultName : encodeURIComponent(name)}`;
}

function decodePart(text: string): string | null {
  return text === defaultName ? null : decodeURIComponent(text);
}

/** `user=alice`, `client-id=<default>`, `user=alice/client-id=app` (user first), `ip=10.0.0.5`. */
export function quotaEntityKey(entity: QuotaEntity): string {
  const parts: string[] = [];
  if (entity.user !== undefined) parts.push(encodePart('user', entity.user));
  if (entity.clientId !== undefined) parts.push(encodePart('client-id', entity.clientId));
  assert.ok(entity.ip === undefined || parts.length === 0, 'an ip entity names nothing else');
  if (entity.ip !== undefined) parts.push(encodePart('ip', entity.ip));
  assert.ok(parts.length > 0, 'a quota entity names a user, a client id, both, or an ip');
  return parts.join('/');
}

export function quotaEntityOfKey(key: string): QuotaEntity {
  const entity: { user?: string | null; clientId?: string | null; ip?: string | null } = {};
  for (const part of key.split('/')) {
    const eq = part.indexOf('=');
    const [type, name] = [part.slice(0, eq), decodePart(part.slice(eq + 1))];
    if (type === 'user') entity.user = name;
    else if (type === 'client-id') entity.clientId = name;
    else if (type === 'ip') entity.ip = name;
    else assert.fail(`quota entity key ${key}: unknown part ${type}`);
  }
  assert.equal(quotaEntityKey(entity), key, 'entity keys are canonical');
  return entity;
}

/** Applies one alteration to an entity's values: the values it is left with (maybe none). */
export function alteredQuotaValues(current: Readonly<Record<string, number>>,
  set: Readonly<Record<string, number>>, remove: readonly string[]): Record<string, number> {
  const values: Record<string, number> = { ...current };
  for (const key of remove) delete values[key];
  for (const [key, value] of Object.entries(set)) {
    assert.ok(Number.isFinite(value) && value > 0, `quota ${key} = ${value} is positive`);
    assert.ok(!remove.includes(key), `quota ${key} is both set and removed`);
    values[key] = value;
  }
  return values;
}

/** Sorts records by entity key, the order `list` returns them in. */
export function sortQuotaRecords(records: ClientQuotaRecord[]): ClientQuotaRecord[] {
  const keyed = records.map((r) => [quotaEntityKey(r.entity), r] as const);
  return keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}
