/**
 * The rules of DescribeClientQuotas and AlterClientQuotas, as Kafka's KRaft controller applies
 * them (ClientQuotaControlManager, ClientQuotasImage.describe), apart from the wire: entity parts
 * in, a QuotaEntity or a refusal out; quota values checked by their Kafka type; describe filters
 * with exact, default and "any specified" matches, strict or not.
 */
import type { QuotaEntity } from '../metadata/client-quotas.js';
import { isIP } from 'node:net';
import { ipQuotaKeyTypes, quotaKeyTypes } from './client-quotas.js';
import { normalizeAddress } from './connection-limits.js';

/** One part of an entity as the wire carries it: a type and a name (null: the default). */
export interface EntityPart {
  entityType: string;
  entityName: string | null;
}

export const entityTypes = { user: 'user', clientId: 'client-id', ip: 'ip' } as const;

export function entityParts(entity: QuotaEntity): EntityPart[] {
  const parts: EntityPart[] = [];
  if (entity.user !== undefined) parts.push({ entityType: 'user', entityName: entity.user });
  if (entity.clientId !== undefined) {
    parts.push({ entityType: 'client-id', entityName: entity.clientId });
  }
  if (entity.ip !== undefined) parts.push({ entityType: 'ip', entityName: entity.ip });
  return parts;
}

/**
 * The entity the parts name, or why it is refused (Kafka answers INVALID_REQUEST), with Kafka's
 * messages (ClientQuotaControlManager). An ip entity stands alone and names an IP address, kept
 * in normalized form (Kafka also resolves a host name once, when the quota is set; here a host
 * name is refused, as in max.connections.per.ip.overrides).
 */
export function parseQuotaEntity(parts: readonly EntityPart[]): QuotaEntity | string {
  if (parts.length === 0) return 'Invalid empty client quota entity';
  const entity: { user?: string | null; clientId?: string | null; ip?: string | null } = {};
  const seen = new Set<string>();
  for (const { entityType: type, entityName: name } of parts) {
    if (seen.has(type)) return `Invalid client quota entity, duplicate entity entry ${type}`;
    seen.add(type);
    if (!(Object.values(entityTypes) as string[]).includes(type)) {
      return `Unhandled client quota entity type: ${type}`;
    }
    if (name === '') return `Empty ${type} not supported`;
    if (type === entityTypes.user) entity.user = name;
    else if (type === entityTypes.clientId) entity.clientId = name;
    else entity.ip = name === null ? null : normalizeAddress(name);
  }
  if (entity.ip === undefined) return entity;
  if (entity.user !== undefined || entity.clientId !== undefined) {
    return 'Invalid quota entity combination, IP entity shouldnot be combined with User or ' +
      'ClientId'; // sic: Kafka's message lacks the space
  }
  if (entity.ip !== null && isIP(entity.ip) === 0) {
    return `${entity.ip} is not a valid IP or resolvable host.`;
  }
  return entity;
}

export interface QuotaOp {
  key: string;
  value: number;
  remove: boolean;
}

/** The values to set and keys to remove (a key named twice: the last op wins, as in Kafka), or
 *  why they are refused. The keys allowed depend on the entity: connection_creation_rate for an
 *  ip, the client quotas for users and client ids. */
export function parseQuotaOps(entity: QuotaEntity, ops: readonly QuotaOp[]):
  { set: Record<string, number>; remove: string[] } | string {
  const keyTypes = entity.ip !== undefined ? ipQuotaKeyTypes : quotaKeyTypes;
  const byKey = new Map<string, number | null>();
  for (const op of ops) byKey.set(op.key, op.remove ? null : op.value);
  const set: Record<string, number> = {};
  const remove: string[] = [];
  for (const [key, value] of byKey) {
    if (value === null) {
      remove.push(key);
      continue;
    }
    const type = keyTypes.get(key);
    if (type === undefined) {
      return key === 'controller_mutation_rate'
        ? 'controller_mutation_rate is not supported by this broker'
        : `Invalid configuration key ${key}`;
    }
    if (!(value > 0) || !Number.isFinite(value)) return `Quota ${key} must be greater than 0`;
    if (type === 'long' && value > 2 ** 63) {
      return `Proposed value for ${key} is too large for a LONG.`;
    }
    if (type === 'int' && value > 2 ** 31 - 1) {
      return `Proposed value for ${key} is too large for an INT.`;
    }
    if (type !== 'double' && Math.abs(value % 1) > 1e-6) {
      return `${key} cannot be a fractional value.`;
    }
    set[key] = value;
  }
  return { set, remove };
}

export interface FilterComponent {
  entityType: string;
  /** 0 exact name, 1 the default, 2 any specified name. */
  matchType: number;
  match: string | null;
}

export type QuotaFilter = (entity: QuotaEntity) => boolean;

/** A matcher for the components, or the refusal: [error name, message]. */
export function parseQuotaFilter(components: readonly FilterComponent[], strict: boolean):
  QuotaFilter | ['INVALID_REQUEST' | 'UNSUPPORTED_VERSION', string] {
  const exact = new Map<string, string | null>();
  const anySpecified = new Set<string>();
  for (const { entityType: type, matchType, match } of components) {
    if (type === '') return ['INVALID_REQUEST', 'Invalid empty entity type.'];
    if (exact.has(type) || anySpecified.has(type)) {
      return ['INVALID_REQUEST', `Entity type ${type} cannot appear more than once in the filter.`];
    }
    if (!Object.values(entityTypes).includes(type as never)) {
      return ['UNSUPPORTED_VERSION', `Unsupported entity type ${type}`];
    }
    if (matchType === 0 && match === null) {
      return ['INVALID_REQUEST',
        'Request specified MATCH_TYPE_EXACT, but set match string to null.'];
    }
    if ((matchType === 1 || matchType === 2) && match !== null) {
      return ['INVALID_REQUEST', `Request specified ${matchType === 1 ? 'MATCH_TYPE_DEFAULT'
        : 'MATCH_TYPE_SPECIFIED'}, but also specified a match string.`];
    }
    if (matchType === 0 || matchType === 1) exact.set(type, match);
    else if (matchType === 2) anySpecified.add(type);
    else return ['INVALID_REQUEST', `Unknown match type ${matchType}`];
  }
  const hasIp = exact.has(entityTypes.ip) || anySpecified.has(entityTypes.ip);
  if (hasIp && exact.size + anySpecified.size > 1) {
    return ['INVALID_REQUEST', 'Invalid entity filter component combination. IP filter ' +
      'component should not be used with user or clientId filter component.'];
  }
  return (entity) => {
    const names = new Map(entityParts(entity).map((p) => [p.entityType, p.entityName]));
    if (strict && names.size !== exact.size + anySpecified.size) return false;
    for (const [type, name] of exact) {
      if (!names.has(type) || names.get(type) !== name) return false;
    }
    for (const type of anySpecified) if (!names.has(type)) return false;
    return true;
  };
}
